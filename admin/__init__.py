"""The Space's own administration: hardware, sleep time, pause and restart, for its owner only.

Logic modules (space_client, catalogue, access, activity, service, render) never import Gradio;
tab.py holds the Gradio code. app.py calls `admin.tab.build_admin_tab(settings)`.
"""
