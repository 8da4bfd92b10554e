# MACs per image against depth (native 3x32x32 input) (drawn by archetype's study report; `gnuplot macs_vs_depth.gp` redraws it)
set terminal pngcairo noenhanced size 900,520 font 'sans,10'
set output 'macs_vs_depth.png'
set title 'MACs per image against depth (native 3x32x32 input)'
set xlabel 'depth (weight layers)'
set ylabel 'MACs per image (forward)'
set grid
set key outside right top
set datafile missing 'NaN'
set logscale y
set offsets graph 0, graph 0.15, graph 0.05, graph 0.05
plot 'macs_vs_depth.dat' index 0 using 1:2 with points pointsize 2 title 'CIFAR ResNets (6n+2)', 'macs_vs_depth.dat' index 0 using 1:2:3 with labels left offset 0.6,0.3 notitle, \
  'macs_vs_depth.dat' index 1 using 1:2 with points pointsize 2 title 'ResNet-18/50 (CIFAR variants)', 'macs_vs_depth.dat' index 1 using 1:2:3 with labels left offset 0.6,0.3 notitle
