# Measured inference speed against MACs (drawn by archetype's study report; `gnuplot throughput_vs_macs.gp` redraws it)
set terminal pngcairo noenhanced size 1000,600 font 'sans,10'
set output 'throughput_vs_macs.png'
set title 'Measured inference speed against MACs'
set xlabel 'MACs per image (forward)'
set ylabel 'inference images/s'
set grid
set key outside right top
set datafile missing 'NaN'
set logscale x
set logscale y
plot 'throughput_vs_macs.dat' index 0 using 1:2 with points pointsize 1.5 title 'the other models', 'throughput_vs_macs.dat' index 0 using 1:2:3 with labels left offset 0.6,0.3 notitle, \
  'throughput_vs_macs.dat' index 1 using 1:2 with points pointsize 1.5 title 'plain (shortcuts removed)', 'throughput_vs_macs.dat' index 1 using 1:2:3 with labels left offset 0.6,-0.6 notitle
