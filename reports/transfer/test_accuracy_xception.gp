# Target task test accuracy, xception (drawn by archetype's study report; `gnuplot test_accuracy_xception.gp` redraws it)
set terminal pngcairo noenhanced size 900,520 font 'sans,10'
set output 'test_accuracy_xception.png'
set title 'Target task test accuracy, xception'
set xlabel 'epoch'
set ylabel 'test top-1 accuracy'
set grid
set key outside right top
set datafile missing 'NaN'
plot 'test_accuracy_xception.dat' index 0 using 1:2 with linespoints title 'from scratch', \
  'test_accuracy_xception.dat' index 1 using 1:2 with linespoints title 'feature extraction', \
  'test_accuracy_xception.dat' index 2 using 1:2 with linespoints title 'partial fine-tuning', \
  'test_accuracy_xception.dat' index 3 using 1:2 with linespoints title 'full fine-tuning', \
  'test_accuracy_xception.dat' index 4 using 1:2 with linespoints title 'partial fine-tuning, BN inference', \
  'test_accuracy_xception.dat' index 5 using 1:2 with linespoints title 'full fine-tuning, BN inference'
