// The transfer study's entry for `archetype experiment transfer`: its nets (Xception and
// ResNet-50 with new heads at 71x71) are not zoo models, so their programs are generated
// here, in a translation unit of their own.
#include "../transfer.hpp"

namespace archetype::experiments {

StudySpec transfer_spec() { return study_spec<TransferStudy>(); }
std::vector<ModelPrograms> transfer_programs() { return study_programs<TransferStudy>(); }

}  // namespace archetype::experiments
