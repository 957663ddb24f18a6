"""The value a generative metric returns: the number, its spread, and how many samples it rests on."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Score:
    """One generative-metric result, labelled with the extractor that produced its features.

    FID and KID depend on the sample count (FID is biased upward by roughly 1/N), so a score always carries
    the counts it was computed from; compare scores only at equal counts.

    Args:
        name: log key, e.g. `fid` for the Inception network, `fd_digits` for a digits classifier.
        value: the score (for IS and KID, the mean over splits or subsets).
        std: population standard deviation over splits or subsets; `None` for the Fréchet distance.
        n: number of generated (or evaluated) samples.
        n_reference: number of reference samples, when there is a reference set.
        protocol: the `kspec.metrics.protocol.Protocol` it was measured under (extractor, resize, counts,
            reference), attached by the code that knows them (`evaluate`, the callbacks); None for a bare value.

    Example:
    >>> s = Score("fd_digits", 12.5, n=500, n_reference=1797)
    >>> float(s), str(s)
    (12.5, 'fd_digits = 12.5 (N = 500, reference N = 1797)')
    """

    name: str
    value: float
    std: float | None = None
    n: int = 0
    n_reference: int | None = None
    protocol: object = None

    def __float__(self):
        return float(self.value)

    def __str__(self):
        spread = f" ± {self.std:.6g}" if self.std is not None else ""
        reference = f", reference N = {self.n_reference}" if self.n_reference is not None else ""
        return f"{self.name} = {self.value:.6g}{spread} (N = {self.n}{reference})"
