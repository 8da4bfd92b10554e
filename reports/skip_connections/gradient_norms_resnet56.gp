# Gradient norms of resnet56 by epoch (drawn by archetype's study report; `gnuplot gradient_norms_resnet56.gp` redraws it)
set terminal pngcairo noenhanced size 900,520 font 'sans,10'
set output 'gradient_norms_resnet56.png'
set title 'Gradient norms of resnet56 by epoch'
set xlabel 'layer depth'
set ylabel 'gradient L2 norm'
set grid
set key outside right top
set datafile missing 'NaN'
set logscale y
plot 'gradient_norms_resnet56.dat' index 0 using 1:2 with linespoints title 'init', \
  'gradient_norms_resnet56.dat' index 1 using 1:2 with linespoints title 'epoch 1', \
  'gradient_norms_resnet56.dat' index 2 using 1:2 with linespoints title 'epoch 2', \
  'gradient_norms_resnet56.dat' index 3 using 1:2 with linespoints title 'epoch 3', \
  'gradient_norms_resnet56.dat' index 4 using 1:2 with linespoints title 'epoch 4', \
  'gradient_norms_resnet56.dat' index 5 using 1:2 with linespoints title 'epoch 5', \
  'gradient_norms_resnet56.dat' index 6 using 1:2 with linespoints title 'epoch 6', \
  'gradient_norms_resnet56.dat' index 7 using 1:2 with linespoints title 'epoch 8'
