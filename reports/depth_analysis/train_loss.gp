# Training loss (drawn by archetype's study report; `gnuplot train_loss.gp` redraws it)
set terminal pngcairo noenhanced size 900,520 font 'sans,10'
set output 'train_loss.png'
set title 'Training loss'
set xlabel 'epoch'
set ylabel 'mean cross-entropy'
set grid
set key outside right top
set datafile missing 'NaN'
plot 'train_loss.dat' index 0 using 1:2 with linespoints title 'resnet18_cifar', \
  'train_loss.dat' index 1 using 1:2 with linespoints title 'resnet50_cifar', \
  'train_loss.dat' index 2 using 1:2 with linespoints title 'resnet20', \
  'train_loss.dat' index 3 using 1:2 with linespoints title 'resnet32', \
  'train_loss.dat' index 4 using 1:2 with linespoints title 'resnet44', \
  'train_loss.dat' index 5 using 1:2 with linespoints title 'resnet56', \
  'train_loss.dat' index 6 using 1:2 with linespoints title 'resnet110'
