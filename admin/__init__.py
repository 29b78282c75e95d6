"""The Space's own administration, for its owner only: a small shared core and one folder per feature.

Core: hub (huggingface_hub calls, errors as AdminError), access + guard (who may act, from which page),
desk (busy lock, confirmation, audit row, Outcome), pending, remembered, activity + state_store.
Features, each a client, a service (no Gradio) and a tab: space/, endpoint/, live/. handlers.py is what the
tabs share; tab.py composes them. app.py calls `admin.tab.build_admin_tab(settings)`.
"""
