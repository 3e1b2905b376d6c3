"""Checkpoint folders bundled with the package (installed as `vimss_cli.models`).

Each sub-folder is a Hub-style checkpoint: config.json, model.safetensors, README.md.
"""
