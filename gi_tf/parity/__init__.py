"""gi-parity: the authors' DeepFill v1 code beside gi_tf, on the same weights and inputs.

``original``: the authors' graph from the user's checkouts (``standins``: what TF 2
removed); ``weights``: seeded weights by TF1 name; ``cases``: the fixed inputs;
``ours``: the same computations in gi_tf; ``compare``: rows of the table, summaries
(norms and seeded projections) kept as test fixtures; ``run``: the sections.
"""
