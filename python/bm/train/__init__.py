"""bm.train: the Fashion-MNIST training application, built on the library
(``bm.frontend`` captures the step, ``bm.compiler`` compiles and calls it).

* :mod:`bm.train.cli`: the command line, ``python -m bm.train --help``;
* :mod:`bm.train.runner`: ``Runner`` (a model trained by its compiled
  step) and ``TorchRunner`` (the same, by PyTorch in eager mode);
* :mod:`bm.train.data`: Fashion-MNIST loading and batching;
* :mod:`bm.train.models`: the models ``--model`` names;
* :mod:`bm.train.report`: the table and plot of a run.

The library never imports this package (python/tests/test_layering.py).
"""
