# Parameters by year of publication (the table names each point) (drawn by archetype's study report; `gnuplot params_by_year.gp` redraws it)
set terminal pngcairo noenhanced size 1000,600 font 'sans,10'
set output 'params_by_year.png'
set title 'Parameters by year of publication (the table names each point)'
set xlabel 'year'
set ylabel 'trainable parameters'
set grid
set key outside right top
set datafile missing 'NaN'
set logscale y
plot 'params_by_year.dat' index 0 using 1:2 with points pointsize 1.5 title 'models of the zoo'
