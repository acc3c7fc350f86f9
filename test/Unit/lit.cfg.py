# -*- Python -*-
# Runs the GoogleTest unit tests (unittests/) as lit tests, one lit test per
# GoogleTest test, so that one lit run reports everything.

import os

import lit.formats

config.name = "BM-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.bm_obj_root, "unittests")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
# The vector tests read this directory (see unittests/Numerics).
config.environment["BM_VECTORS_DIR"] = config.bm_vectors_dir
