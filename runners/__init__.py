"""lecture-rl runners: the ``lecture-rl`` command line and what it runs.

Modules: ``cli`` (argument parsing, ``main``), ``train``, ``evaluate``, ``compare`` (agents x
seeds in worker processes, results.csv / summary.json / curves.png / config.json), ``watch``
and ``play`` (pygame windows), ``env_factory`` (env ids and ``--env-set`` keywords),
``settings`` (``--set`` parsing, config files), ``progress`` (rich bars), ``plots``.

Use from Python::

    from lecture_rl.runners.cli import main

    main(["compare", "--env", "CliffWalking-v1", "--agents", "q_learning,sarsa",
          "--seeds", "3", "--episodes", "200", "--out", "runs/cliff"])
"""
