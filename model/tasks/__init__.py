"""How each fine-tuning task trains: one ``TaskSpec`` per task, registered in ``model/task_catalog.py``."""
