#pragma once
/// \file
/// \brief Study 6, `transfer`: transfer learning on images of one's own, with no download.
/// Fashion-MNIST's classes 0–4 (T-shirt, trouser, pullover, dress, coat) are the source task,
/// classes 5–9 (sandal, shirt, sneaker, bag, ankle boot) the target task with a small labelled
/// budget. Both are written as image folders (PNG, DIR/train/CLASS/, DIR/val/CLASS/) and read
/// back through `--data folder:` (libpng, resized to the model's input, normalised, random
/// resized crop and flip), so the path a user's own images take is the one that runs.
///
/// Each model is pretrained on the source task, then learns the target task four ways, the
/// seed's strategies with its optimizer and rates (Adam):
/// - from scratch: random initialisation, every layer trains (1e-3);
/// - feature extraction: the pretrained backbone frozen (its BatchNorms in inference mode), a
///   new head trains (1e-3);
/// - partial fine-tuning: from feature extraction's result, the last blocks and the head train
///   (1e-5; Keras's `layers[:-30]` frozen);
/// - full fine-tuning: from feature extraction's result, every layer trains (1e-6);
/// - both fine-tunings again with every BatchNorm in inference mode (`--bn-inference`, the
///   Keras guide's `base_model(x, training=False)`), which the seed's code does not do.
///
/// The models: Xception with the seed's head (GlobalAveragePooling2D, Dense 256 ReLU, Dropout
/// 0.5, Dense 5) at 71x71, the smallest input its strides allow, and torchvision's ResNet-50
/// with its `fc` replaced by a 5-class layer, at the same input.
///
/// Full run (about 30 minutes on an idle 2-core CPU; its figures in reports/transfer.md):
/// 1,000 source images per class for 3 epochs, 100 target images per class for 12 epochs per
/// strategy, 100 target test images per class. The schedule fits a 2-core CPU; the seed's
/// 10–30 epochs of feature extraction and 50–150 of fine-tuning at 299x299 are GPU hours.
/// `--quick` runs a few images through every stage.

#include <archetype/architectures/resnet.hpp>
#include <archetype/architectures/xception.hpp>
#include <archetype/dsl/transfer.hpp>
#include <archetype/experiments/study.hpp>

namespace archetype::experiments {

/// The seed's Keras head on Xception: GlobalAveragePooling2D, Dense 256 ReLU, Dropout 0.5,
/// Dense N.
template <int N>
using XceptionKerasHead =
    Seq<Named<"avg_pool", GlobalAvgPool>, Named<"dense", Linear<256>>, Named<"dense_relu", ReLU>,
        Named<"dropout", Dropout<0.5>>, Named<"predictions", Linear<N>>>;
/// Xception with that head at 71x71.
using XceptionTransfer =
    WithInput<WithHead<architectures::Xception, XceptionKerasHead<5>>, Input<Shape{3, 71, 71}>>;
/// torchvision's ResNet-50 with `model.fc = nn.Linear(2048, 5)`, at 71x71.
using ResNet50Transfer = WithInput<
    WithHead<architectures::ResNet50, Seq<Named<"avgpool", GlobalAvgPool>, Named<"fc", Linear<5>>>>,
    Input<Shape{3, 71, 71}>>;

struct TransferStudy final : Experiment<Models<XceptionTransfer, ResNet50Transfer>, FashionMnist,
                                        Adam<1000>, Cosine, Epochs<12>, 32> {
  static constexpr std::string_view name = "transfer";
  static constexpr std::string_view title =
      "Transfer learning: from scratch, feature extraction, partial and full fine-tuning";
  static constexpr std::string_view question =
      "Pretrained on five Fashion-MNIST classes, how well do Xception and ResNet-50 learn five "
      "other classes from 100 labelled images each — trained from scratch, by feature "
      "extraction (backbone frozen), by fine-tuning the last blocks, or by fine-tuning every "
      "layer — and does the seed's table hold: over random initialisation, feature extraction "
      "+5–15 points, partial fine-tuning +10–20, full fine-tuning +15–25?";
  static constexpr std::string_view labels[] = {"xception", "resnet50"};
  static constexpr StudyKind kind = StudyKind::transfer;
  static constexpr std::uint64_t seeds[] = {1};
  static constexpr TransferPlan transfer{};
  /// Where each head starts, and the last blocks partial fine-tuning trains (Keras's
  /// `layers[:-30]` on Xception leaves block13's second half and block14 trainable; block13
  /// and block14 here; ResNet-50's layer4, as in torchvision's fine-tuning tutorials).
  static constexpr TransferModel transfer_models[] = {{"xception", "avg_pool", "block13"},
                                                      {"resnet50", "avgpool", "layer4"}};
  static constexpr QuickRun quick{.train_images = 20, .test_images = 10, .batch = 8, .epochs = 1};
};

}  // namespace archetype::experiments
