# The five studies of issue 8 with --quick, end to end: `archetype experiment NAME --quick`
# for each (and the generated executable of one), then checks what a report promises:
# the Markdown report with its command, machine and commit; the raw metrics of every
# model (CSV and JSON, one row per epoch); the gradient norms where the study records
# them; and every plot the report shows, an existing, valid PNG (signature, IHDR with a
# non-zero size first, IEND last) drawn by gnuplot.
#   -DARCHETYPE=path/to/archetype -DOUT=dir [-DEXECUTABLE=path/to/computational_cost]
if(NOT EXISTS /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz AND NOT DEFINED ENV{ARCHETYPE_FASHION_MNIST_DIR})
  message("SKIP: Fashion-MNIST is not installed (dataset-fashion-mnist)")
  return()
endif()
find_program(GNUPLOT gnuplot)
if(NOT GNUPLOT)
  message("SKIP: gnuplot is not installed (gnuplot-nox)")
  return()
endif()
file(REMOVE_RECURSE ${OUT})

# study -> models trained (label list) and plots expected
set(models_resnet_vs_vgg vgg16_cifar resnet18_cifar)
set(models_depth_analysis resnet18_cifar resnet50_cifar resnet20 resnet32 resnet44 resnet56 resnet110)
set(models_skip_connections plain20 plain56 resnet20 resnet56)
set(plots_resnet_vs_vgg train_error test_accuracy train_loss)
set(plots_depth_analysis train_error test_accuracy train_loss accuracy_vs_depth params_vs_depth macs_vs_depth)
set(plots_skip_connections train_error test_accuracy train_loss gradient_norms_init gradient_norms_final
    gradient_norms_plain20 gradient_norms_plain56 gradient_norms_resnet20 gradient_norms_resnet56)
set(plots_computational_cost vgg16_layers resnet50_layers kernels_cost kernels_time)
set(plots_lineage params_by_year throughput_vs_macs)

function(check_png file)
  if(NOT EXISTS ${file})
    message(FATAL_ERROR "plot missing: ${file}")
  endif()
  file(SIZE ${file} size)
  if(size LESS 1000)
    message(FATAL_ERROR "${file}: ${size} bytes, too small for a plot")
  endif()
  file(READ ${file} head LIMIT 24 HEX)
  # 8-byte signature, then the IHDR chunk: length 13, "IHDR", width, height (both > 0)
  if(NOT head MATCHES "^89504e470d0a1a0a0000000d49484452")
    message(FATAL_ERROR "${file} is not a PNG (starts ${head})")
  endif()
  string(SUBSTRING "${head}" 32 8 width)
  string(SUBSTRING "${head}" 40 8 height)
  if(width STREQUAL "00000000" OR height STREQUAL "00000000")
    message(FATAL_ERROR "${file}: PNG of size 0")
  endif()
  math(EXPR tail "${size} - 12")
  file(READ ${file} last OFFSET ${tail} HEX)
  if(NOT last STREQUAL "0000000049454e44ae426082")
    message(FATAL_ERROR "${file}: no IEND chunk at the end (truncated?)")
  endif()
endfunction()

function(check_study name)
  set(md ${OUT}/${name}.md)
  if(NOT EXISTS ${md})
    message(FATAL_ERROR "${name}: no report ${md}")
  endif()
  file(READ ${md} text)
  foreach(expected "## How this report was made" "| command | `" "--quick" "| machine | " "| commit | ")
    string(FIND "${text}" "${expected}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${name}: the report lacks '${expected}'")
    endif()
  endforeach()
  if(NOT EXISTS ${OUT}/${name}/summary.json)
    message(FATAL_ERROR "${name}: no summary.json")
  endif()
  # Every plot the study draws is shown in the report and is a valid PNG.
  foreach(plot ${plots_${name}})
    string(FIND "${text}" "](${name}/${plot}.png)" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${name}: the report does not show ${plot}.png")
    endif()
    check_png(${OUT}/${name}/${plot}.png)
  endforeach()
  # (no brackets in the pattern: CMake's lists do not split inside [ ])
  string(REGEX MATCHALL "\\([a-zA-Z0-9_./-]+\\.png\\)" shown "${text}")
  list(LENGTH shown n_shown)
  list(LENGTH plots_${name} n_expected)
  if(NOT n_shown EQUAL n_expected)
    message(FATAL_ERROR "${name}: the report shows ${n_shown} plots, expected ${n_expected}")
  endif()
  # Raw metrics: a header and one row per epoch (the quick run trains 2), CSV and JSON.
  foreach(model ${models_${name}})
    set(csv ${OUT}/${name}/${model}-seed1.csv)
    if(NOT EXISTS ${csv} OR NOT EXISTS ${OUT}/${name}/${model}-seed1.json)
      message(FATAL_ERROR "${name}: metrics of ${model} missing (${csv}, .json)")
    endif()
    file(STRINGS ${csv} rows)
    list(LENGTH rows n)
    if(NOT n EQUAL 3)
      message(FATAL_ERROR "${csv}: ${n} lines, expected a header and 2 epochs")
    endif()
    string(FIND "${text}" "| ${model} |" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${name}: no table row for ${model}")
    endif()
  endforeach()
endfunction()

# A run without gnuplot: every plot is a marker in the report with its data and script
# next to it and no PNG; `--draw` then draws them all into the report (checked by
# check_study after this); a second `--draw` has nothing left to do.
function(check_undrawn name run_output)
  file(READ ${OUT}/${name}.md text)
  foreach(plot ${plots_${name}})
    string(FIND "${text}" "<!-- archetype:undrawn ${name}/${plot}.png " at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${name} without gnuplot: no marker for ${plot}.png in the report")
    endif()
    foreach(ext dat gp)
      if(NOT EXISTS ${OUT}/${name}/${plot}.${ext})
        message(FATAL_ERROR "${name} without gnuplot: ${plot}.${ext} was not written")
      endif()
    endforeach()
    if(EXISTS ${OUT}/${name}/${plot}.png)
      message(FATAL_ERROR "${name} without gnuplot: ${plot}.png exists")
    endif()
  endforeach()
  if(NOT run_output MATCHES "plots not drawn .*--draw")
    message(FATAL_ERROR "${name} without gnuplot: the run does not say how to draw its plots:\n${run_output}")
  endif()
  # Without gnuplot, --draw says so and leaves the report alone.
  execute_process(COMMAND ${CMAKE_COMMAND} -E env PATH=${OUT}/no-gnuplot-here
                          ${ARCHETYPE} experiment ${name} --draw --out ${OUT}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  file(READ ${OUT}/${name}.md after)
  if(rc EQUAL 0 OR NOT err MATCHES "gnuplot is not installed" OR NOT after STREQUAL text)
    message(FATAL_ERROR "--draw without gnuplot: rc ${rc}, report changed or no reason:\n${out}\n${err}")
  endif()
  execute_process(COMMAND ${ARCHETYPE} experiment ${name} --draw --out ${OUT}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "archetype experiment ${name} --draw failed (${rc}):\n${out}\n${err}")
  endif()
  list(LENGTH plots_${name} n)
  if(NOT out MATCHES "drew ${n} plots")
    message(FATAL_ERROR "--draw: expected 'drew ${n} plots', got:\n${out}")
  endif()
  file(READ ${OUT}/${name}.md text)
  if(text MATCHES "archetype:undrawn" OR text MATCHES "not drawn")
    message(FATAL_ERROR "${name}: markers left in the report after --draw")
  endif()
  file(READ ${OUT}/${name}/summary.json summary)
  string(JSON n_plots LENGTH "${summary}" plots)
  string(JSON n_undrawn LENGTH "${summary}" undrawn)
  if(NOT n_plots EQUAL n OR NOT n_undrawn EQUAL 0)
    message(FATAL_ERROR "summary.json after --draw: ${n_plots} plots, ${n_undrawn} undrawn")
  endif()
  execute_process(COMMAND ${ARCHETYPE} experiment ${name} --draw --out ${OUT}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "no plots left to draw")
    message(FATAL_ERROR "a second --draw: rc ${rc}:\n${out}\n${err}")
  endif()
  # A report that does not exist is named.
  execute_process(COMMAND ${ARCHETYPE} experiment ${name} --draw --out ${OUT}/nowhere
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "nowhere/${name}.md")
    message(FATAL_ERROR "--draw of a missing report: rc ${rc}:\n${out}\n${err}")
  endif()
endfunction()

# One oneDNN thread: on a shared machine (ctest -j, other jobs) two OpenMP threads that spin
# at every barrier while one of them is descheduled run ten times slower than one.
set(threads --threads 1)
foreach(name resnet_vs_vgg depth_analysis skip_connections computational_cost lineage)
  # skip_connections runs as on a machine without gnuplot (the GPU machines): its plots
  # are left as data, scripts and markers, and `--draw` draws them afterwards.
  set(env)
  if(name STREQUAL "skip_connections")
    set(env ${CMAKE_COMMAND} -E env PATH=${OUT}/no-gnuplot-here)
  endif()
  string(TIMESTAMP start "%s")
  execute_process(COMMAND ${env} ${ARCHETYPE} experiment ${name} --quick ${threads} --out ${OUT}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(TIMESTAMP stop "%s")
  math(EXPR seconds "${stop} - ${start}")
  message("${name}: ${seconds} s")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "archetype experiment ${name} --quick failed (${rc}):\n${out}\n${err}")
  endif()
  if(name STREQUAL "skip_connections")
    check_undrawn(${name} "${out}")
  endif()
  if(name STREQUAL "depth_analysis")  # the CIFAR family's accuracy in order of depth, said in words
    file(READ ${OUT}/depth_analysis.md text)
    file(READ ${OUT}/depth_analysis/summary.json summary)
    if(NOT text MATCHES "### Accuracy and depth\n\nCIFAR ResNets in order of depth, final test accuracy: resnet20 [0-9.]+% → resnet32"
       OR NOT summary MATCHES "\"test_accuracy_rises_with_depth\": (true|false)")
      message(FATAL_ERROR "depth_analysis.md: no 'Accuracy and depth' paragraph over the CIFAR family, or summary.json has no depth_trend")
    endif()
    # The time per epoch is the median over the epochs (one paused epoch does not move it).
    if(NOT summary MATCHES "\"median_epoch_seconds\": [0-9]*[.]?[0-9]*[1-9]"
       OR NOT text MATCHES "s/epoch and img/s: training only [(]evaluation excluded[)], measured, the median over the epochs")
      message(FATAL_ERROR "depth_analysis: summary.json has no positive median_epoch_seconds, or the report does not say s/epoch is a median")
    endif()
  endif()
  check_study(${name})
endforeach()

# --resume with every model's metrics already there (and no checkpoint): the study takes
# them instead of training again, and its report says which; with another number of
# epochs they do not fit, and the models are trained.
execute_process(COMMAND ${ARCHETYPE} experiment resnet_vs_vgg --quick --resume ${threads} --out ${OUT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCHALL "not trained again" taken "${out}")
list(LENGTH taken n_taken)
file(READ ${OUT}/resnet_vs_vgg.md text)
if(NOT rc EQUAL 0 OR NOT n_taken EQUAL 2 OR NOT text MATCHES "Not trained by this run: vgg16_cifar \\(seed 1\\), resnet18_cifar")
  message(FATAL_ERROR "resnet_vs_vgg --resume over finished metrics (rc ${rc}, ${n_taken} taken):\n${out}\n${err}")
endif()
check_study(resnet_vs_vgg)
# The metrics record each epoch's precision: in bf16 the fp32 runs do not count. On a CPU
# without native bf16 (no avx512_bf16 or amx_bf16 in /proc/cpuinfo) an explicit --precision
# bf16 is refused, after the same verdict on the earlier metrics; depth_analysis, a bf16
# study, trained in f32 there and its report says why.
file(READ /proc/cpuinfo cpuinfo)
execute_process(COMMAND ${ARCHETYPE} experiment resnet_vs_vgg --quick --resume --precision bf16 ${threads} --out ${OUT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(cpuinfo MATCHES "avx512_bf16|amx_bf16")
  file(READ ${OUT}/resnet_vs_vgg/vgg16_cifar-seed1.json json)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "epoch 1 was trained in f32, this study runs in bf16" OR out MATCHES "not trained again"
     OR NOT json MATCHES "\"precision\": \"bf16\"")
    message(FATAL_ERROR "resnet_vs_vgg --resume --precision bf16 over fp32 metrics (rc ${rc}):\n${out}\n${err}")
  endif()
else()
  file(READ ${OUT}/depth_analysis.md text)
  if(rc EQUAL 0 OR NOT out MATCHES "epoch 1 was trained in f32, this study runs in bf16"
     OR NOT err MATCHES "bf16 needs a CPU with AVX512-BF16"
     OR NOT text MATCHES "fp32 [(]the study's bf16 needs AVX512-BF16, which this CPU lacks[)]")
    message(FATAL_ERROR "without native bf16: resnet_vs_vgg --precision bf16 must be refused (rc ${rc}) after its verdict on "
                        "the f32 metrics, and depth_analysis.md say it trained in fp32:\n${out}\n${err}")
  endif()
endif()
execute_process(COMMAND ${ARCHETYPE} experiment resnet_vs_vgg --quick --resume --epochs 3 ${threads} --out ${OUT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(STRINGS ${OUT}/resnet_vs_vgg/vgg16_cifar-seed1.csv rows)
list(LENGTH rows n)
if(NOT rc EQUAL 0 OR NOT out MATCHES "2 epochs, not 3" OR out MATCHES "not trained again" OR NOT n EQUAL 4)
  message(FATAL_ERROR "resnet_vs_vgg --resume --epochs 3 (rc ${rc}, ${n} CSV lines):\n${out}\n${err}")
endif()

# --models: only the named models are trained; the others, with no finished run in a fresh
# folder, are left out and the report says the study is incomplete. A name the study does
# not have is an error that lists its models.
execute_process(COMMAND ${ARCHETYPE} experiment resnet_vs_vgg --quick --models resnet18_cifar ${threads}
                        --out ${OUT}/models_subset
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(READ ${OUT}/models_subset/resnet_vs_vgg.md text)
if(NOT rc EQUAL 0 OR NOT out MATCHES "not in --models and not finished before"
   OR NOT text MATCHES "Incomplete:\\*\\* left out of this run \\(`--models`\\), with no finished run to take: vgg16_cifar"
   OR NOT EXISTS ${OUT}/models_subset/resnet_vs_vgg/resnet18_cifar-seed1.csv
   OR EXISTS ${OUT}/models_subset/resnet_vs_vgg/vgg16_cifar-seed1.csv)
  message(FATAL_ERROR "resnet_vs_vgg --models resnet18_cifar (rc ${rc}):\n${out}\n${err}")
endif()
execute_process(COMMAND ${ARCHETYPE} experiment resnet_vs_vgg --quick --models resnet19 ${threads}
                        --out ${OUT}/models_subset
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "has no model 'resnet19' \\(its models: vgg16_cifar, resnet18_cifar\\)")
  message(FATAL_ERROR "resnet_vs_vgg --models resnet19 should fail naming the study's models (rc ${rc}):\n${out}\n${err}")
endif()

# Per-layer gradient norms: every conv/linear/BatchNorm layer at init (epoch 0) and after
# each of the 2 epochs; ResNet-56 has 56 weight layers (55 convolutions, 1 linear) and 55
# BatchNorms.
file(STRINGS ${OUT}/skip_connections/resnet56-seed1-gradient-norms.csv rows)
list(LENGTH rows n)
if(NOT n EQUAL 334)  # header + 3 samples x 111 layers with parameters
  message(FATAL_ERROR "resnet56 gradient norms: ${n} lines, expected 334")
endif()
list(GET rows 0 header)
if(NOT header STREQUAL "model,seed,epoch,op,depth,path,kind,params,gradient_norm")
  message(FATAL_ERROR "gradient norms header: ${header}")
endif()
# The first-over-deepest convolution ratios: in the report's table and in summary.json, for
# every model, at initialisation (epoch 0) and after the last epoch (2).
file(READ ${OUT}/skip_connections.md report)
if(NOT report MATCHES "\\| model \\| at initialisation: first / last = ratio \\| after the last epoch")
  message(FATAL_ERROR "skip_connections.md: no table of first/last convolution gradient ratios")
endif()
file(READ ${OUT}/skip_connections/summary.json summary)
foreach(model ${models_skip_connections})
  foreach(when_epoch init:0 final:2)
    string(REPLACE ":" ";" pair ${when_epoch})
    list(GET pair 0 when)
    list(GET pair 1 epoch)
    string(JSON got ERROR_VARIABLE e GET "${summary}" gradient_reach ${model} ${when} epoch)
    if(e OR NOT got EQUAL epoch)
      message(FATAL_ERROR "summary.json gradient_reach.${model}.${when}.epoch: '${got}' ${e}, expected ${epoch}")
    endif()
    string(JSON ratio GET "${summary}" gradient_reach ${model} ${when} ratio)
    if(NOT ratio GREATER 0)
      message(FATAL_ERROR "summary.json gradient_reach.${model}.${when}.ratio: '${ratio}', expected > 0")
    endif()
    if(NOT report MATCHES "\\| ${model} \\| [^|]+ = [^|]+ \\| [^|]+ = [^|]+ \\|")
      message(FATAL_ERROR "skip_connections.md: no gradient ratio row for ${model}")
    endif()
  endforeach()
endforeach()

# The same study from its own generated executable writes the same report.
if(DEFINED EXECUTABLE)
  execute_process(COMMAND ${EXECUTABLE} --quick ${threads} --out ${OUT}/executable
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${EXECUTABLE} --quick failed (${rc}):\n${out}\n${err}")
  endif()
  set(OUT ${OUT}/executable)
  check_study(computational_cost)
endif()
