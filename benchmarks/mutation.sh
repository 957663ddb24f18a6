#!/usr/bin/env bash
# Mutation testing of kspec with mutmut: how many deliberate small bugs (mutants) in a module its tests catch.
#
#     benchmarks/mutation.sh MODULE...       e.g. benchmarks/mutation.sh builder/expressions.py trainers/vae_losses.py
#     benchmarks/mutation.sh --list          the modules it knows and the tests it runs for each
#     benchmarks/mutation.sh --rerun MODULE  after adding tests: re-tests only the mutants the last run left
#                                            (and every mutant of a function changed since, when the fix is in MODULE)
#     benchmarks/mutation.sh --sample N MODULE   tests a random sample of N of the module's mutants (seed
#                                            KSPEC_MUTATION_SEED, default 0) and prints the score with a 95%
#                                            interval: for a module whose whole campaign takes hours (the resolver)
#
# For each MODULE: stages a copy of the repository as an importable `kspec` package (mutmut derives module
# names from file paths and kspec's root directory *is* the package, so the code is copied to STAGE/kspec/ and
# the tests to STAGE/tests/), mutates MODULE only, runs the module's quick tests (below, `-m "not slow"`, two
# workers, nice 19) against each mutant, and prints the score: killed / (mutants - equivalent), with each
# surviving mutant that benchmarks/mutation_equivalent.txt does not list as equivalent, as a diff.
#
# Environment: KSPEC_MUTATION_DIR (default /tmp/kspec-mutation) holds the stages; KSPEC_MUTATION_REV scores a
# git revision instead of the working tree (e.g. the suite before a change). Needs `pip install mutmut`
# (not a CI dependency: a campaign takes minutes to an hour per module on 2 cores).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${KSPEC_MUTATION_DIR:-/tmp/kspec-mutation}"
REV="${KSPEC_MUTATION_REV:-}"
EQUIVALENT="$REPO/benchmarks/mutation_equivalent.txt"

# The quick tests that exercise each module (its own test files, the tests written against its contract, and its
# doctests). Keep in step with tests/ when tests move.
tests_for() {
  local doctest="tests/test_doctests.py::test_examples_run[kspec.$(echo "${1%.py}" | tr / .)]"
  case "$1" in
    builder/expressions.py) echo tests/builder/test_expressions.py tests/builder/test_expression_bounds.py \
                                 tests/builder/test_expression_semantics.py "$doctest" ;;
    # The resolver's tests that do not build Keras models: test_specs.py and the memory limits of test_limits.py
    # build them (35 s each), which would make a campaign of its ~1000 mutants take hours on 2 cores.
    builder/resolver.py) echo tests/builder/test_resolver.py tests/builder/test_broken_specs.py \
                              tests/builder/test_loader.py tests/builder/test_checks.py tests/builder/test_defaults.py \
                              tests/builder/test_grid.py tests/builder/test_schema.py \
                              tests/builder/test_training_checks.py \
                              tests/builder/test_limits.py::test_extends_chain_deeper_than_the_limit_is_refused \
                              tests/builder/test_limits.py::test_layer_count_after_repetition_is_bounded \
                              tests/builder/test_limits.py::test_block_nesting_is_bounded \
                              tests/builder/test_limits.py::test_nested_empty_repetition_is_bounded "$doctest" ;;
    builder/save.py) echo tests/builder/test_save.py tests/test_atomic.py "$doctest" ;;
    atomic.py) echo tests/test_atomic.py tests/training/test_checkpoints.py "$doctest" ;;
    training/checkpoints.py) echo tests/training/test_checkpoints.py tests/training/test_best_checkpoint.py \
                                  tests/training/test_metrics_trimming.py "$doctest" ;;
    # Not test_train.py or test_checkpoints.py: every mutant would train whole runs through the CLI.
    training/run_directory.py) echo tests/training/test_run_directory.py tests/test_atomic.py "$doctest" ;;
    export/keras_model.py) echo tests/export/test_keras_model.py "$doctest" ;;
    export/run.py) echo tests/export/test_run.py "$doctest" ;;
    trainers/gan_losses.py) echo tests/trainers/test_gan_losses.py tests/trainers/test_gan_loss_selection.py \
                                 tests/trainers/test_gan_gradient_penalty.py "$doctest" ;;
    trainers/vae_losses.py) echo tests/trainers/test_vae_losses.py "$doctest" ;;
    # Not test_distributed.py: it runs the trainers in a fresh interpreter, where mutmut sees no test.
    trainers/gradients.py) echo tests/trainers/test_gradients.py tests/trainers/test_gan_gradient_penalty.py "$doctest" ;;
    trainers/priors.py) echo tests/trainers/test_priors.py tests/trainers/test_prior_arguments.py "$doctest" ;;
    trainers/gan.py) echo tests/trainers/test_gan.py tests/trainers/test_gan_gradient_penalty.py "$doctest" ;;
    trainers/vae.py) echo tests/trainers/test_vae.py "$doctest" ;;
    trainers/aae.py) echo tests/trainers/test_aae.py "$doctest" ;;
    trainers/cyclegan.py) echo tests/trainers/test_cyclegan.py "$doctest" ;;
    trainers/pix2pix.py) echo tests/trainers/test_pix2pix.py "$doctest" ;;
    trainers/translation_losses.py) echo tests/trainers/test_translation_losses.py "$doctest" ;;
    trainers/image_pool.py) echo tests/trainers/test_image_pool.py "$doctest" ;;
    trainers/diff_augment.py) echo tests/trainers/test_diff_augment.py "$doctest" ;;
    trainers/spectral_norm.py) echo tests/trainers/test_spectral_norm.py "$doctest" ;;
    trainers/interpolation.py) echo tests/trainers/test_interpolation.py "$doctest" ;;
    layers/instance_normalization.py) echo tests/layers/test_instance_normalization.py "$doctest" ;;
    layers/reflection_padding.py) echo tests/layers/test_reflection_padding.py "$doctest" ;;
    layers/sampling.py) echo tests/layers/test_sampling.py tests/trainers/test_vae.py "$doctest" ;;
    layers/replica_seed.py) echo tests/trainers/test_gradients.py tests/layers/test_sampling.py "$doctest" ;;
    layers/preprocess_input.py) echo tests/layers/test_preprocess_input.py tests/builder/test_applications.py "$doctest" ;;
    layers/register.py) echo tests/layers/test_register.py "$doctest" ;;
    layers/*) echo tests/layers/ tests/trainers/test_vae.py tests/builder/test_specs.py "$doctest" ;;
    metrics/frechet.py) echo tests/metrics/test_frechet.py "$doctest" ;;
    metrics/kid.py) echo tests/metrics/test_kid.py "$doctest" ;;
    metrics/inception_score.py) echo tests/metrics/test_inception_score.py "$doctest" ;;
    metrics/statistics.py) echo tests/metrics/test_statistics.py tests/test_atomic.py "$doctest" ;;
    metrics/precision_recall.py) echo tests/metrics/test_precision_recall.py tests/metrics/test_evaluation.py "$doctest" ;;
    metrics/protocol.py) echo tests/metrics/test_protocol.py "$doctest" ;;
    metrics/score.py) echo tests/metrics/test_score.py tests/metrics/test_protocol.py "$doctest" ;;
    metrics/*) echo tests/metrics/ "$doctest" ;;
    *) return 1 ;;
  esac
}

if [ "${1:-}" = "--list" ]; then
  for module in builder/expressions.py builder/resolver.py builder/save.py atomic.py training/checkpoints.py \
                training/run_directory.py export/keras_model.py export/run.py trainers/gan_losses.py \
                trainers/vae_losses.py trainers/gradients.py trainers/priors.py trainers/gan.py trainers/vae.py trainers/aae.py \
                trainers/cyclegan.py trainers/pix2pix.py trainers/translation_losses.py trainers/image_pool.py \
                trainers/diff_augment.py trainers/spectral_norm.py trainers/interpolation.py layers/sampling.py \
                layers/instance_normalization.py layers/reflection_padding.py layers/register.py layers/replica_seed.py \
                layers/preprocess_input.py metrics/frechet.py metrics/kid.py metrics/inception_score.py \
                metrics/statistics.py metrics/precision_recall.py metrics/protocol.py metrics/evaluation.py metrics/extractors.py \
                metrics/callbacks.py metrics/score.py; do
    echo "$module: $(tests_for "$module")"
  done
  exit 0
fi
RERUN=""
SAMPLE=""
if [ "${1:-}" = "--rerun" ]; then
  RERUN=1
  shift
elif [ "${1:-}" = "--sample" ]; then
  SAMPLE="${2:?--sample takes a number of mutants}"
  shift 2
fi
if [ "$#" -eq 0 ]; then
  echo "usage: benchmarks/mutation.sh MODULE... (a path like builder/expressions.py; --list for the known ones)" >&2
  exit 2
fi
command -v mutmut >/dev/null || { echo "mutmut is not installed: pip install mutmut" >&2; exit 2; }

stage_module() {  # stage_module MODULE DIRECTORY: the repository as STAGE/kspec + STAGE/tests, and mutmut's config
  local module="$1" stage="$2"
  rm -rf "$stage"
  mkdir -p "$stage/kspec"
  if [ -n "$REV" ]; then
    git -C "$REPO" archive "$REV" | tar -x -C "$stage/kspec"
  else
    (cd "$REPO" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -x -C "$stage/kspec"
  fi
  mv "$stage/kspec/tests" "$stage/tests"
  ln -s kspec/specs "$stage/specs"  # tests find the shipped specs next to tests/
  cp "$REPO/benchmarks/mutation_conftest.py" "$stage/conftest.py"  # two corrections to mutmut, see that file
  write_config "$module" "$stage"
  cp "$stage/kspec/$module" "$stage/tested.py"  # the module as its mutants' verdicts were last reached
}

write_config() {  # write_config MODULE STAGE [FILE]: pytest's and mutmut's settings, with the module's tests that exist
  local module="$1" stage="$2" file="${3:-$2/pyproject.toml}"
  # Only the tests that exist at this revision (an older one may predate some); doctests were run per package
  # by tests/*/test_docstring_examples.py before tests/test_doctests.py.
  local tests="" candidate
  for candidate in $(tests_for "$module") "tests/$(dirname "$module")/test_docstring_examples.py"; do
    if [ -e "$stage/${candidate%%::*}" ]; then tests="$tests $candidate"; fi
  done
  if [ -z "$tests" ]; then
    echo "$module: none of its tests exist in this revision" >&2
    return 1
  fi
  {
    echo "[tool.pytest.ini_options]"
    echo 'pythonpath = ["tests"]'
    echo 'addopts = "--import-mode=importlib -p no:cacheprovider"'
    echo 'markers = ["slow: trains or builds large models"]'
    echo 'filterwarnings = ["ignore::DeprecationWarning:tensorflow.*", "ignore::DeprecationWarning:keras.*"]'
    echo "[tool.mutmut]"
    echo 'source_paths = ["kspec"]'
    echo "only_mutate = [\"kspec/$module\"]"
    echo "pytest_add_cli_args = [\"-m\", \"not slow\", \"-x\", \"-q\"]"
    printf 'pytest_add_cli_args_test_selection = ['
    printf '"%s", ' $tests
    echo ']'
    echo 'also_copy = ["specs", "conftest.py"]'  # tests/support.py lists the shipped specs beside tests/ on import
    echo 'max_children = 2'
    # Workers fork from a server that has only imported the tests, not from mutmut's main process: that one has
    # run TensorFlow ops, and a child forked from it hangs in TF's thread pools as soon as it runs new ones.
    echo 'process_isolation = "forkserver"'
  } > "$file"
}

report() {  # report MODULE STAGE: score and the non-equivalent survivors
  local module="$1" stage="$2"
  (cd "$stage" && mutmut results --all true 2>/dev/null) \
    | python3 "$REPO/benchmarks/mutation_report.py" $([ -e "$stage/sampled" ] && echo --sampled) "$module" \
      "$EQUIVALENT" > "$stage/report.txt"
  head -n 1 "$stage/report.txt"
  tail -n +2 "$stage/report.txt" | while read -r status mutant; do
    echo "  $status: $mutant"
    (cd "$stage" && mutmut show "$mutant" 2>/dev/null) | grep '^[-+][^-+]' | sed 's/^/      /'
  done
}

failed=0
for module in "$@"; do
  module="${module#./}"
  if ! tests_for "$module" >/dev/null; then
    echo "$module: no tests mapped to this module in benchmarks/mutation.sh (tests_for)" >&2
    exit 2
  fi
  stage="$WORK/${REV:-worktree}/$(echo "${module%.py}" | tr / -)"
  mutants=()
  if [ -n "$RERUN" ]; then
    # After adding tests: the same mutants, only those not killed yet, against the working tree's tests now.
    changed=()
    # Compared with the version last tested, not the stage's copy: a rerun that failed has updated that.
    [ -e "$stage/tested.py" ] || cp "$stage/kspec/$module" "$stage/tested.py"
    if ! cmp -s "$REPO/$module" "$stage/tested.py"; then
      # A fix to the module itself: its changed functions' mutants are tested again, from scratch (mutmut keeps
      # the verdicts of functions whose source is unchanged).
      read -r -a changed <<< "$(python3 "$REPO/benchmarks/mutation_report.py" --changed "$module" \
                                  "$stage/tested.py" "$REPO/$module")"
      echo "$module changed since it was staged; testing again every mutant of: ${changed[*]:-(no function)}" >&2
    fi
    # The module and the code it uses as they are now (a fix elsewhere that the new tests rely on).
    (cd "$REPO" && git ls-files -z --cached --others --exclude-standard | grep -zv '^tests/' | tar --null -T - -cf -) \
      | tar -x -C "$stage/kspec"
    rm -rf "$stage/tests" "$stage/mutants/tests" "$stage/mutants/mutmut-stats.json"  # stats map tests to functions
    (cd "$REPO" && git ls-files -z --cached --others --exclude-standard tests | tar --null -T - -cf -) | tar -x -C "$stage"
    cp "$REPO/benchmarks/mutation_conftest.py" "$stage/conftest.py"
    read -r -a mutants <<< "$(awk '{printf "%s ", $2}' <(tail -n +2 "$stage/report.txt"))"
    if [ -e "$stage/sampled" ] && [ "${#changed[@]}" -gt 0 ]; then
      # A changed function's mutants are renumbered: which of them the sample held is lost. Its survivors are
      # left as they were (not killed), and the new mutants are not drawn into the sample.
      echo "$module: a sampled stage; the survivors in the changed functions are not re-tested" >&2
      pattern="$(printf '%s\n' "${changed[@]}" | sed 's/\*$//' | paste -sd'|')"
      read -r -a mutants <<< "$(printf '%s\n' "${mutants[@]}" | grep -Ev "^(${pattern})" | tr '\n' ' ')"
      changed=()
    fi
    mutants+=("${changed[@]}")
    [ "${#mutants[@]}" -gt 0 ] || { echo "$module: nothing left to kill"; continue; }
    write_config "$module" "$stage" "$stage/pyproject.new"
    if ! cmp -s "$stage/pyproject.new" "$stage/pyproject.toml"; then
      # mutmut forgets every verdict when the test selection changes: start over.
      echo "$module: its test files changed since it was staged; running all its mutants again" >&2
      mutants=()
      stage_module "$module" "$stage" || continue
    fi
  else
    stage_module "$module" "$stage" || continue
  fi
  start=$(date +%s)
  if [ -n "$SAMPLE" ]; then
    # mutmut generates every mutant (and records which tests reach which function) before it runs the ones
    # named; a name that matches none makes it stop there (with an error), and `results` lists them, unchecked.
    (cd "$stage" && nice -n 19 mutmut run "kspec.none-such__mutmut_0" > mutmut.log 2>&1) || true
    touch "$stage/sampled"  # its reports (and those of --rerun) count only the mutants run
    read -r -a mutants <<< "$( (cd "$stage" && mutmut results --all true 2>/dev/null) | python3 -c '
import random, sys
names = sorted(line.split(": ")[0].strip() for line in sys.stdin if ": " in line)
random.Random(int(sys.argv[2])).shuffle(names)
print(" ".join(sorted(names[: int(sys.argv[1])])))' "$SAMPLE" "${KSPEC_MUTATION_SEED:-0}")"
    if [ "${#mutants[@]}" -eq 0 ]; then
      echo "$module: mutmut generated no mutants, see $stage/mutmut.log" >&2
      tail -20 "$stage/mutmut.log" >&2
      failed=1
      continue
    fi
  fi
  if ! (cd "$stage" && nice -n 19 mutmut run "${mutants[@]}" > mutmut.log 2>&1); then
    # One module's failure (its tests fail unmutated, say) does not stop the modules after it.
    echo "$module: mutmut failed, see $stage/mutmut.log" >&2
    tail -20 "$stage/mutmut.log" >&2
    failed=1
    continue
  fi
  cp "$stage/kspec/$module" "$stage/tested.py"
  echo "== $module ${REV:+at $REV }($(( $(date +%s) - start )) s; load average $(cut -d' ' -f1-3 /proc/loadavg))"
  echo "   tests: $(sed -n 's/^pytest_add_cli_args_test_selection = \[\(.*\), \]$/\1/p' "$stage/pyproject.toml" | tr -d '"')"
  report "$module" "$stage"
done
exit "$failed"
