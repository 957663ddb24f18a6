"""Reads `mutmut results --all true` on stdin; prints a module's score line, then `status mutant` per survivor.

    python3 benchmarks/mutation_report.py MODULE EQUIVALENT_FILE < results
    python3 benchmarks/mutation_report.py --sampled MODULE EQUIVALENT_FILE < results   (only the mutants run)
    python3 benchmarks/mutation_report.py --changed MODULE OLD_FILE NEW_FILE   (mutant patterns of changed functions)

Score: killed / (mutants - listed equivalent). A timeout counts as not killed (on a shared machine it is more
often a slow moment than a mutant that hangs); mutants with no covering test count as not killed too. A
segfault counts as killed: the test process crashed, which fails the suite as surely as an assertion.
With `--sampled` (`mutation.sh --sample`), only the mutants that were run count, and the score comes with a
95% Wilson score interval for the score of all the module's mutants.
"""

import sys


def changed_functions(module, old_path, new_path):
    """mutmut name patterns for the functions and methods whose source differs between two versions of `module`."""
    import ast

    def functions(path):
        with open(path, encoding="utf-8") as stream:
            tree = ast.parse(stream.read())
        found = {}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[f"x_{node.name}"] = ast.dump(node)
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        found[f"x\u01c1{node.name}\u01c1{item.name}"] = ast.dump(item)
        return found

    old, new = functions(old_path), functions(new_path)
    prefix = "kspec." + module.removesuffix(".py").replace("/", ".")
    return [f"{prefix}.{name}__mutmut_*" for name in sorted(new) if old.get(name) != new[name]]


def wilson_interval(successes, trials, z=1.96):
    """The Wilson score interval of a binomial proportion (Wilson 1927), as (low, high)."""
    if not trials:
        return 0.0, 1.0
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * (p * (1 - p) / trials + z * z / (4 * trials * trials)) ** 0.5
    return centre - half, centre + half


def main():
    if sys.argv[1] == "--changed":
        print(" ".join(changed_functions(*sys.argv[2:])))
        return
    sampled = sys.argv[1] == "--sampled"
    module, equivalent_file = sys.argv[2:] if sampled else sys.argv[1:]
    statuses = {}
    for line in sys.stdin:
        name, _, status = line.strip().rpartition(": ")
        if name and not (sampled and status == "not checked"):
            statuses[name] = status.replace(" ", "_")
    with open(equivalent_file, encoding="utf-8") as stream:
        equivalent = {line.split()[0] for line in stream if line.strip() and not line.startswith("#")}
    detected = ("killed", "segfault")
    killed = sum(status in detected for status in statuses.values())
    not_killed = sorted(name for name, status in statuses.items() if status not in detected)
    listed = [name for name in not_killed if name in equivalent]
    open_ = [name for name in not_killed if name not in equivalent]
    kinds = {}
    for name in open_:
        kinds[statuses[name]] = kinds.get(statuses[name], 0) + 1
    considered = len(statuses) - len(listed)
    score = f"{killed / considered:.1%}" if considered else "n/a"
    interval = ""
    if sampled and considered:
        low, high = wilson_interval(killed, considered)
        interval = f"; a random sample: 95% interval {low:.1%} to {high:.1%} for all of the module's mutants"
    breakdown = ", ".join(f"{count} {status}" for status, count in sorted(kinds.items())) or "none"
    print(f"{module}: {len(statuses)} mutants, {killed} killed, {len(not_killed)} not killed "
          f"({len(listed)} listed equivalent; others: {breakdown}); score {score} of non-equivalent{interval}")
    for name in open_:
        print(statuses[name], name)


if __name__ == "__main__":
    main()
