# ResNet-50: MACs and activation memory per layer (drawn by archetype's study report; `gnuplot resnet50_layers.gp` redraws it)
set terminal pngcairo noenhanced size 1000,520 font 'sans,10'
set output 'resnet50_layers.png'
set title 'ResNet-50: MACs and activation memory per layer'
set xlabel 'layer (execution order)'
set ylabel 'MMACs per image'
set y2label 'output activation, KiB per image (fp32)'
set y2tics
set ytics nomirror
set grid
set key outside right top
set datafile missing 'NaN'
plot 'resnet50_layers.dat' index 0 using 1:2 with impulses lw 3 title 'MMACs', \
  'resnet50_layers.dat' index 1 using 1:2 with lines axes x1y2 title 'activation KiB'
