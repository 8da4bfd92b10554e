// The compile-time figures of SEMixNet: including the header runs its static_asserts, with
// nothing linked but Archetype::dsl (the header-only vocabulary and analysis).
#include "se_mix_net.hpp"

// The stem and the four 3x3 convolutions of stage 1 see 1 + 5 x 2 = 11 pixels; the strided
// 3x3 path adds 2 (stride 1 before it), the mixer's 3x3 at stride 2 adds 2 x 2: 17.
static_assert(archetype::receptive_field_v<custom::SEMixNet> == archetype::ReceptiveField{17, 17});
