from __future__ import annotations

import os

# Tests never reach the Hub: anything that tries to download fails at once instead of hanging.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
