"""The metric protocol shared by every task (AllenNLP/paddle.metric style).

A metric accumulates over batches with ``update``, reports with ``accumulate`` and starts
over with ``reset``. ``accumulate`` returns a flat ``dict[str, float]``; the key named by
``main_key`` is the one the trainer uses for best-model selection and early stopping
(higher is better). Extra, non-scalar results (per-class tables, confusion matrices) are
returned by ``report()``, which the eval tool prints and the VisualDL logger draws.
"""


class Metric:
    main_key = None

    def reset(self):
        raise NotImplementedError

    def update(self, *args, **kwargs):
        raise NotImplementedError

    def accumulate(self):
        """Return ``dict[str, float]`` of scalar results."""
        raise NotImplementedError

    def report(self):
        """Return a human-readable multi-line string (per-class tables and the like)."""
        return ""
