# Target task training loss, xception (drawn by archetype's study report; `gnuplot train_loss_xception.gp` redraws it)
set terminal pngcairo noenhanced size 900,520 font 'sans,10'
set output 'train_loss_xception.png'
set title 'Target task training loss, xception'
set xlabel 'epoch'
set ylabel 'mean cross-entropy'
set grid
set key outside right top
set datafile missing 'NaN'
plot 'train_loss_xception.dat' index 0 using 1:2 with linespoints title 'from scratch', \
  'train_loss_xception.dat' index 1 using 1:2 with linespoints title 'feature extraction', \
  'train_loss_xception.dat' index 2 using 1:2 with linespoints title 'partial fine-tuning', \
  'train_loss_xception.dat' index 3 using 1:2 with linespoints title 'full fine-tuning', \
  'train_loss_xception.dat' index 4 using 1:2 with linespoints title 'partial fine-tuning, BN inference', \
  'train_loss_xception.dat' index 5 using 1:2 with linespoints title 'full fine-tuning, BN inference'
