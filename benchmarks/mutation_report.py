"""Reads `mutmut results --all true` on stdin; prints a module's score line, then `status mutant` per survivor.

    python3 benchmarks/mutation_report.py MODULE EQUIVALENT_FILE < results

Score: killed / (mutants - listed equivalent). A timeout counts as not killed (on a shared machine it is more
often a slow moment than a mutant that hangs); mutants with no covering test count as not killed too. A
segfault counts as killed: the test process crashed, which fails the suite as surely as an assertion.
"""

import sys


def main():
    module, equivalent_file = sys.argv[1:]
    statuses = {}
    for line in sys.stdin:
        name, _, status = line.strip().rpartition(": ")
        if name:
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
    breakdown = ", ".join(f"{count} {status}" for status, count in sorted(kinds.items())) or "none"
    print(f"{module}: {len(statuses)} mutants, {killed} killed, {len(not_killed)} not killed "
          f"({len(listed)} listed equivalent; others: {breakdown}); score {score} of non-equivalent")
    for name in open_:
        print(statuses[name], name)


if __name__ == "__main__":
    main()
