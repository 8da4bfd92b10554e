# Final test accuracy against depth (drawn by archetype's study report; `gnuplot accuracy_vs_depth.gp` redraws it)
set terminal pngcairo noenhanced size 900,520 font 'sans,10'
set output 'accuracy_vs_depth.png'
set title 'Final test accuracy against depth'
set xlabel 'depth (weight layers)'
set ylabel 'test top-1 accuracy'
set grid
set key outside right top
set datafile missing 'NaN'
set offsets graph 0, graph 0.15, graph 0.05, graph 0.05
plot 'accuracy_vs_depth.dat' index 0 using 1:2 with points pointsize 2 title 'CIFAR ResNets (6n+2)', 'accuracy_vs_depth.dat' index 0 using 1:2:3 with labels left offset 0.6,0.3 notitle, \
  'accuracy_vs_depth.dat' index 1 using 1:2 with points pointsize 2 title 'ResNet-18/50 (CIFAR variants)', 'accuracy_vs_depth.dat' index 1 using 1:2:3 with labels left offset 0.6,0.3 notitle
