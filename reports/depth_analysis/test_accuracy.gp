# Test accuracy (fashion-mnist/test) (drawn by archetype's study report; `gnuplot test_accuracy.gp` redraws it)
set terminal pngcairo noenhanced size 900,520 font 'sans,10'
set output 'test_accuracy.png'
set title 'Test accuracy (fashion-mnist/test)'
set xlabel 'epoch'
set ylabel 'test top-1 accuracy'
set grid
set key outside right top
set datafile missing 'NaN'
plot 'test_accuracy.dat' index 0 using 1:2 with linespoints title 'resnet18_cifar', \
  'test_accuracy.dat' index 1 using 1:2 with linespoints title 'resnet50_cifar', \
  'test_accuracy.dat' index 2 using 1:2 with linespoints title 'resnet20', \
  'test_accuracy.dat' index 3 using 1:2 with linespoints title 'resnet32', \
  'test_accuracy.dat' index 4 using 1:2 with linespoints title 'resnet44', \
  'test_accuracy.dat' index 5 using 1:2 with linespoints title 'resnet56', \
  'test_accuracy.dat' index 6 using 1:2 with linespoints title 'resnet110'
