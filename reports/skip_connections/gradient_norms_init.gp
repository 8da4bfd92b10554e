# Gradient norms at initialisation (drawn by archetype's study report; `gnuplot gradient_norms_init.gp` redraws it)
set terminal pngcairo noenhanced size 900,520 font 'sans,10'
set output 'gradient_norms_init.png'
set title 'Gradient norms at initialisation'
set xlabel 'layer depth'
set ylabel 'gradient L2 norm'
set grid
set key outside right top
set datafile missing 'NaN'
set logscale y
plot 'gradient_norms_init.dat' index 0 using 1:2 with linespoints title 'plain20', \
  'gradient_norms_init.dat' index 1 using 1:2 with linespoints title 'plain56', \
  'gradient_norms_init.dat' index 2 using 1:2 with linespoints title 'resnet20', \
  'gradient_norms_init.dat' index 3 using 1:2 with linespoints title 'resnet56'
