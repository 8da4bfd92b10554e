# Measured time per image (drawn by archetype's study report; `gnuplot kernels_time.gp` redraws it)
set terminal pngcairo noenhanced size 900,520 font 'sans,10'
set output 'kernels_time.png'
set title 'Measured time per image'
set xlabel ''
set ylabel 'microseconds per image'
set grid
set key outside right top
set datafile missing 'NaN'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -30
set yrange [0:*]
plot \
  'kernels_time.dat' using 2:xtic(1) title 'inference', \
  '' using 3 title 'training step'
