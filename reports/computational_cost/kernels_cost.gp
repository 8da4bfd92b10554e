# Compile-time cost of each probe (drawn by archetype's study report; `gnuplot kernels_cost.gp` redraws it)
set terminal pngcairo noenhanced size 900,520 font 'sans,10'
set output 'kernels_cost.png'
set title 'Compile-time cost of each probe'
set xlabel ''
set ylabel 'parameters (thousands) / MACs per image (millions)'
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
  'kernels_cost.dat' using 2:xtic(1) title 'parameters (k)', \
  '' using 3 title 'MACs/image (M)'
