"""Interactive tools for JupyterLab (ipywidgets); report notebooks show them only in a live session."""
