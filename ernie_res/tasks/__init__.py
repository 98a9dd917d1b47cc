"""Task registry: ``Global.task`` -> task class (its ``DataConfig`` is the Data schema and its
``model_names`` the models it can train)."""
from ernie_res.tasks.doc import DocTask
from ernie_res.tasks.gen import GenTask
from ernie_res.tasks.rel import RelTask
from ernie_res.tasks.seq import SeqTask

TASKS = {
    "doc": DocTask,
    "seq": SeqTask,
    "rel": RelTask,
    "gen": GenTask,
}
