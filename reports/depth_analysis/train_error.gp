# Training error (fashion-mnist/train) (drawn by archetype's study report; `gnuplot train_error.gp` redraws it)
set terminal pngcairo noenhanced size 900,520 font 'sans,10'
set output 'train_error.png'
set title 'Training error (fashion-mnist/train)'
set xlabel 'epoch'
set ylabel 'training error (last epoch''s batches)'
set grid
set key outside right top
set datafile missing 'NaN'
plot 'train_error.dat' index 0 using 1:2 with linespoints title 'resnet18_cifar', \
  'train_error.dat' index 1 using 1:2 with linespoints title 'resnet50_cifar', \
  'train_error.dat' index 2 using 1:2 with linespoints title 'resnet20', \
  'train_error.dat' index 3 using 1:2 with linespoints title 'resnet32', \
  'train_error.dat' index 4 using 1:2 with linespoints title 'resnet44', \
  'train_error.dat' index 5 using 1:2 with linespoints title 'resnet56', \
  'train_error.dat' index 6 using 1:2 with linespoints title 'resnet110'
