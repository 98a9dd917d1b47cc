"""Task registry: ``Global.task`` -> task class (its ``DataConfig`` is the Data schema)."""
from ernie_res.tasks.doc import DocTask

TASKS = {
    "doc": DocTask,
}
DATA_CONFIGS = {name: cls.DataConfig for name, cls in TASKS.items()}
