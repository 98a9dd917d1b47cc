"""The training loop: one loop for every task and model.

It calls ``model(**batch)`` and reads ``loss`` from the returned dict; everything task
specific (features, batches, metric, extra visuals) comes from the ``Task`` object, and
everything a model needs beyond one optimizer update per step comes from the
``TrainStrategy`` the model declares (``models/base.py``). The loop never asks what the task
or the model is. See ``docs/architecture.md`` for why this is our own loop rather than
PaddleNLP's ``Trainer``.

What a run gets: AdamW with parameter groups and warm-up/decay (``optim.py``), gradient
accumulation and clipping, AMP on GPU (``amp.py``), data parallelism under
``python -m paddle.distributed.launch`` (rank 0 logs, evaluates and saves), evaluation every
N steps or each epoch, best-model selection on the task's main metric, early stopping, exact
resume from ``latest/``, progress lines with throughput and ETA, and VisualDL scalars for
everything it logs.
"""
import contextlib
import json
import math
import time

import paddle
from paddle.io import DataLoader

from ernie_res.data.batching import ListDataset
from ernie_res.data.sampler import EpochBatchSampler
from ernie_res.engine import checkpoint
from ernie_res.engine.amp import AMP
from ernie_res.engine.evaluation import evaluate
from ernie_res.engine.optim import build_optimizer, global_grad_norm
from ernie_res.engine.step_context import StepContext, broadcast_buffers
from ernie_res.utils.progress import Progress, format_seconds


#: consecutive optimizer steps the float16 GradScaler may skip for overflow before the run
#: stops: a skip halves the loss scale, so this many in a row means the values themselves
#: are not finite, not just too large for float16
MAX_CONSECUTIVE_SKIPS = 25


class NonFiniteError(RuntimeError):
    """Training produced a non-finite loss or gradient norm; the run stopped."""


class Trainer:
    """Fit a task's model. ``rank``/``world_size`` come from ``engine.device.setup``."""

    def __init__(self, config, task, model, encoder, tokenizer, output_dir, logger, vdl,
                 device="cpu", rank=0, world_size=1):
        self.cfg = config
        self.task = task
        self.model = model                     # the bare model: saved and evaluated
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.out = output_dir
        self.logger = logger
        self.vdl = vdl
        self.device = device
        self.rank, self.world_size = rank, world_size
        self.main_key = task.build_metric().main_key
        self.strategy = model.train_strategy()

    # ---------------------------------------------------------------- helpers
    def _save(self, name, state, metrics, with_training_state):
        training_state = None
        if with_training_state:
            training_state = {"optimizer": checkpoint.optimizer_state_to_save(self.optimizer,
                                                                                self.model),
                              "scheduler": self.scheduler.state_dict(),
                              "scaler": self.amp.state_dict(),
                              "rng": checkpoint.rng_state(), "trainer": dict(state)}
        meta = {"step": state["step"], "epoch": state["epoch"], "metrics": metrics,
                "main_metric": self.main_key}
        checkpoint.save_model_dir(self.out / name, self.model, self.cfg, self.task.labels,
                                  self.encoder, self.tokenizer, meta=meta,
                                  training_state=training_state)

    def _evaluate_and_save(self, state, dev_feats):
        """Evaluate on rank 0, save best/ and latest/, update patience; returns stop flag."""
        stop = 0
        if self.rank == 0:
            t0 = time.time()
            metrics, metric = evaluate(self.model, self.task, dev_feats,
                                       self.cfg.Train.eval_batch_size, self.amp)
            step = state["step"]
            self.vdl.scalars("eval", metrics, step)
            self.task.log_eval_visuals(self.vdl, metric, step, self.model)
            score = metrics[self.main_key]
            improved = math.isfinite(score) and (state["best"] is None or score > state["best"])
            if not math.isfinite(score):
                self.logger.warning(f"eval @ step {step}: {self.main_key} is {score}; it is "
                                    f"never taken as the best")
            if improved:
                state.update(best=score, best_step=step, bad_evals=0)
            else:
                state["bad_evals"] += 1
            state["history"].append({"step": step, **metrics})
            shown = ", ".join(f"{k} {v:.4f}" for k, v in list(metrics.items())[:6])
            if len(metrics) > 6:
                shown += f" (+{len(metrics) - 6} more in VisualDL)"
            self.logger.info(f"eval @ step {step}: {shown} ({time.time() - t0:.1f}s)"
                             f"{'  *new best*' if improved else ''}")
            note = self.strategy.after_evaluation(metrics)
            if note:
                self.logger.info(note)
            if improved:
                self._save("best", state, metrics, with_training_state=False)
            self._save("latest", state, metrics, with_training_state=True)
            patience = self.cfg.Train.early_stopping_patience
            if patience > 0 and state["bad_evals"] >= patience:
                best = "none finite" if state["best"] is None else \
                    f"best {state['best']:.4f} at step {state['best_step']}"
                self.logger.info(f"early stopping: {self.main_key} has not improved for "
                                 f"{patience} evaluations ({best})")
                stop = 1
            self.vdl.flush()
        if self.world_size > 1:
            flag = paddle.to_tensor([stop], dtype="int64")
            paddle.distributed.broadcast(flag, src=0)
            stop = int(flag.numpy()[0])
            broadcast_buffers(self.model)   # e.g. a training phase switched on rank 0
        return bool(stop)

    def _stop(self, what, value, state):
        """Raise ``NonFiniteError`` naming the step and the last checkpoint written."""
        last = state["history"][-1]["step"] if state["history"] else None
        where = (f"the last checkpoint, from before it, is {self.out / 'latest'} (step {last})"
                 if last is not None else "no checkpoint had been written yet")
        raise NonFiniteError(f"non-finite {what} at step {state['step'] + 1} ({value}): "
                             f"training stopped; {where}. Lower Optimizer.lr (now "
                             f"{self.cfg.Optimizer.lr:g}) or check the data")

    # ---------------------------------------------------------------- main loop
    def fit(self, train_feats, dev_feats, resume_dir=None):
        tc, gc = self.cfg.Train, self.cfg.Global
        sampler = EpochBatchSampler(len(train_feats), tc.batch_size, shuffle=True, seed=gc.seed,
                                    rank=self.rank, world_size=self.world_size)
        loader = DataLoader(ListDataset(train_feats), batch_sampler=sampler,
                            collate_fn=self.task.collate, num_workers=tc.num_workers)
        batches_per_epoch = sampler.full_len()
        steps_per_epoch = math.ceil(batches_per_epoch / tc.grad_accum_steps)
        total = tc.max_steps if tc.max_steps > 0 else tc.epochs * steps_per_epoch
        self.optimizer, self.scheduler = build_optimizer(self.model, self.cfg.Optimizer, total,
                                                         tc.max_grad_norm)
        self.amp = AMP(tc.amp, tc.amp_dtype, tc.amp_level, self.device, self.logger)
        self.model, self.optimizer = self.amp.decorate(self.model, self.optimizer)
        net = paddle.DataParallel(self.model) if self.world_size > 1 else self.model
        state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "best": None, "best_step": None,
                 "bad_evals": 0, "history": []}
        if resume_dir is not None:
            saved = checkpoint.load_training_state(resume_dir)
            self.optimizer.set_state_dict(
                checkpoint.optimizer_state_to_load(saved["optimizer"], self.model))
            self.scheduler.set_state_dict(saved["scheduler"])
            self.amp.set_state_dict(saved["scaler"])
            checkpoint.set_rng_state(saved["rng"])
            state.update(saved["trainer"])
            self.logger.info(f"resumed from {resume_dir} at step {state['step']} (epoch "
                             f"{state['epoch'] + 1}, batch {state['batch_in_epoch']})")
        self.logger.info(f"training: {len(train_feats)} examples, {batches_per_epoch} batches "
                         f"of {tc.batch_size} per epoch per device x {self.world_size} "
                         f"device(s), accumulation {tc.grad_accum_steps}, {total} optimizer "
                         f"steps, main metric {self.main_key}")
        params = [p for p in self.model.parameters() if not p.stop_gradient]
        progress = Progress(total, state["step"])
        window_loss, window_n, grad_norm = 0.0, 0, 0.0
        window_extra, window_updates, update_extra = {}, 0, {}
        skipped = 0                            # consecutive float16 overflow skips
        ctx = StepContext(net, self.optimizer, self.amp, train_feats, self.task.collate,
                          tc.batch_size, gc.seed, self.rank, self.world_size)
        net.train()
        stop = False
        while state["step"] < total and not stop:
            sampler.set_epoch(state["epoch"], skip=state["batch_in_epoch"])
            left = batches_per_epoch - state["batch_in_epoch"]
            micro, group = 0, 1
            for bi, batch in enumerate(loader):
                if micro == 0:  # a new accumulation group; the epoch's last may be shorter
                    group = min(tc.grad_accum_steps, left - bi)
                    for k, v in self.strategy.begin_update(ctx, state["step"], total).items():
                        update_extra[k] = update_extra.get(k, 0.0) + float(v)
                micro += 1
                last_in_epoch = bi == left - 1
                boundary = micro == group
                sync = contextlib.nullcontext() if self.world_size == 1 or boundary \
                    else net.no_sync()
                with sync:
                    out = ctx.forward(batch)
                    loss = out["loss"]
                    ctx.backward(loss / group)
                value = float(loss)
                if math.isfinite(value):
                    window_loss += value
                    window_n += 1
                elif self.amp.scaler is None and self.world_size == 1:
                    self._stop("loss", value, state)
                # (float16: the scaler skips the step; under data parallelism the all-reduced
                # gradient norm, the same on every rank, decides below)
                for k, v in out.get("log", {}).items():
                    window_extra[k] = window_extra.get(k, 0.0) + float(v)
                progress.add_examples(len(batch["_index"]) * self.world_size)
                state["batch_in_epoch"] += 1
                if last_in_epoch:  # bookkeeping first, so a save here resumes at the next epoch
                    state["epoch"] += 1
                    state["batch_in_epoch"] = 0
                if not boundary:
                    continue
                micro = 0
                self.strategy.before_optimizer_step(ctx)
                self.amp.unscale(self.optimizer)
                grad_norm = global_grad_norm(params)
                if not math.isfinite(grad_norm):
                    skipped += 1
                    if self.amp.scaler is None or skipped > MAX_CONSECUTIVE_SKIPS:
                        self._stop("gradient norm", grad_norm, state)
                    self.logger.warning(f"step {state['step'] + 1}: float16 overflow, the "
                                        f"GradScaler skips this update ({skipped} in a row)")
                else:
                    skipped = 0
                self.amp.step(self.optimizer)
                self.optimizer.clear_grad()
                self.scheduler.step()
                state["step"] += 1
                window_updates += 1
                step = state["step"]
                if step % gc.log_interval == 0 or step == total:
                    rate, elapsed, eta = progress.rates(step)
                    lr = self.optimizer.get_lr()
                    avg = window_loss / max(window_n, 1)
                    # forward logs: mean per micro-batch; strategy logs: mean per update
                    extra = {k: v / max(window_n, 1) for k, v in window_extra.items()}
                    extra.update({k: v / max(window_updates, 1)
                                  for k, v in update_extra.items()})
                    self.vdl.scalars("train", {"loss": avg, "lr": lr, "grad_norm": grad_norm,
                                               "samples_per_sec": rate, **extra}, step)
                    self.logger.info(
                        f"epoch {state['epoch'] + (0 if last_in_epoch else 1)} step "
                        f"{step}/{total} loss {avg:.4f} lr {lr:.3e} grad_norm {grad_norm:.3f}"
                        f" | {rate:.1f} samples/s | elapsed {format_seconds(elapsed)} "
                        f"eta {format_seconds(eta)}")
                    window_loss, window_n, window_extra = 0.0, 0, {}
                    window_updates, update_extra = 0, {}
                if ((tc.eval_steps > 0 and step % tc.eval_steps == 0)
                        or (tc.eval_steps == 0 and last_in_epoch) or step >= total):
                    stop = self._evaluate_and_save(state, dev_feats)
                if stop or step >= total:
                    break
        if self.rank == 0:
            (self.out / "trainer_state.json").write_text(json.dumps(
                {k: v for k, v in state.items()}, indent=1), encoding="utf-8")
            if state["best"] is None:
                self.logger.warning(f"done: no evaluation gave a finite {self.main_key}; "
                                    f"no best/ was written")
            else:
                self.logger.info(f"done: best {self.main_key} {state['best']:.4f} at step "
                                 f"{state['best_step']}; model in {self.out / 'best'}")
        return state
