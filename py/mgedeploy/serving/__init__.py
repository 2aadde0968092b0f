"""The model server (//py:serve): an HTTP front (app.py) over a pool of Lite workers per model
(workers.py), with the Open Inference Protocol's tensors (v2.py), bounded uploads (uploads.py),
Prometheus metrics (metrics.py) and a web page (page.html)."""
