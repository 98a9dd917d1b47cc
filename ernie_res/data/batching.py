"""From features to model inputs: in-order batches, and batch dicts as Paddle tensors.

A batch is a dict of arrays. Keys that start with ``_`` are bookkeeping (example indices,
window offsets) and never reach the model; every other key is an argument of the model's
``forward``, ``labels`` included.
"""
import paddle


class ListDataset(paddle.io.Dataset):
    """A ``paddle.io.Dataset`` over a list of features."""

    def __init__(self, items):
        self.items = items

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


def in_order(features, batch_size, collate):
    """Batches of ``features`` in their order (evaluation and prediction): ``collate``'s
    dicts of NumPy arrays, as they are."""
    for start in range(0, len(features), batch_size):
        yield collate(features[start:start + batch_size])


def length_batches(features, batch_size, collate, length, window):
    """Batches of ``features`` sorted by ``length`` within windows of ``window`` features
    (prediction): each batch pads to lengths close to each other, which saves most of the
    padding when lengths vary (20 Newsgroups postings run from a few to thousands of pieces).

    Features keep their ``index`` (the ``_index`` of the batch), so the caller restores the
    input order. ``window`` 0 (or 1) keeps the input order. Sorting is stable, longest
    first, so a batch that runs out of memory does so at the start.
    """
    order = list(range(len(features)))
    if window and window > 1:
        order = [i for start in range(0, len(order), window)
                 for i in sorted(order[start:start + window],
                                 key=lambda i: length(features[i]), reverse=True)]
    for start in range(0, len(order), batch_size):
        yield collate([features[i] for i in order[start:start + batch_size]])


def to_tensors(batch):
    """The model inputs of a batch dict (keys without a leading ``_``) as Paddle tensors.

    Arrays are converted; tensors (the training ``paddle.io.DataLoader`` converts NumPy
    batches) are passed through as they are.
    """
    return {k: v if isinstance(v, paddle.Tensor) else paddle.to_tensor(v)
            for k, v in batch.items() if not k.startswith("_")}


def to_numpy(outputs):
    """The tensors of a model's output dict as NumPy arrays (other entries are dropped)."""
    return {k: v.numpy() for k, v in outputs.items() if isinstance(v, paddle.Tensor)}
