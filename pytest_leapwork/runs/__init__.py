"""A run's life on the controller: trigger, follow, collect, stop, recover; the planning.

Built on ``api`` only. No pytest import here, nor below.
"""
