"""croco-render: multi-view, multi-time synthetic humans with labels, in WebDataset shards.

Readers for what it writes: ``crocohuman.core.shards.read_shard`` / ``list_shards``
(format in docs/data-format.md); conventions in ``crocohuman.core.conventions``.
"""
