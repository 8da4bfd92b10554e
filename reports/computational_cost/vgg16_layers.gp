# VGG-16: MACs and activation memory per layer (drawn by archetype's study report; `gnuplot vgg16_layers.gp` redraws it)
set terminal pngcairo noenhanced size 1000,520 font 'sans,10'
set output 'vgg16_layers.png'
set title 'VGG-16: MACs and activation memory per layer'
set xlabel 'layer (execution order)'
set ylabel 'MMACs per image'
set y2label 'output activation, KiB per image (fp32)'
set y2tics
set ytics nomirror
set grid
set key outside right top
set datafile missing 'NaN'
plot 'vgg16_layers.dat' index 0 using 1:2 with impulses lw 3 title 'MMACs', \
  'vgg16_layers.dat' index 1 using 1:2 with lines axes x1y2 title 'activation KiB'
