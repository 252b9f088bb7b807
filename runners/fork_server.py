"""What `compare`'s fork server imports, and nothing else does.

Ctrl-C goes to the whole process group, the fork server included, and multiprocessing only
ignores it there once the preload is done: a Ctrl-C in the first two seconds would print the
traceback of an interrupted `import torch`. The driver handles Ctrl-C; the server ignores it
from its first line, then imports torch and the agents once for every worker it forks
(`lecture_rl.runners.compare.warm`).
"""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)

import lecture_rl.runners.compare.warm  # noqa: E402, F401
