//! What a batch tick records and where it pushes: the git URL, the batch decisions, the
//! pushes through the ledger and their recovery after a crash.

#[allow(clippy::wildcard_imports)]
use super::*;

impl<F: Forge + ForgeBatch + ForgeHistory> Tick<'_, F> {
    /// The git URL: `queue.git_remote`, else the forge's clone URL.
    pub(super) async fn git_remote(&self) -> Result<String> {
        if let Some(r) = &self.settings.batch.git_remote {
            return Ok(r.clone());
        }
        self.forge.clone_url().await.map_err(|e| Error::ForgeCtx {
            context: "batch mode: cannot read the repository's clone URL".into(),
            err: Box::new(e),
            hint: Some("set queue.git_remote to the repository's HTTPS git URL".into()),
        })
    }

    /// Records a transition of a batch.
    pub(super) async fn record_batch(
        &self,
        b: &Batch,
        action: ledger::Action,
        code: &str,
        text: String,
        extra: serde_json::Value,
    ) -> Result<()> {
        self.progress.emit(
            "batch_transition",
            json!({ "batch": b.id, "state": code, "staging": b.staging.as_str() }),
        );
        if !self.record {
            return Ok(());
        }
        let mut evidence = Evidence {
            head_sha: Some(b.staging.to_string()),
            base_sha: Some(b.base.to_string()),
            ..Evidence::default()
        };
        evidence.extra.insert(
            "members".into(),
            json!(
                b.members
                    .iter()
                    .map(|m| json!({"pr": m.pr, "head": m.head.as_str()}))
                    .collect::<Vec<_>>()
            ),
        );
        if let serde_json::Value::Object(map) = extra {
            for (k, v) in map {
                evidence.extra.insert(k, v);
            }
        }
        let nd = NewDecision {
            run_id: self.run_id.to_string(),
            subject: batch_subject(&b.id),
            action,
            reason_code: ledger::ReasonCode::new(code.to_string()).map_err(Error::from)?,
            reason_text: text,
            evidence,
            dry_run: self.dry_run,
        };
        self.ledger
            .record_decision(&nd)
            .await
            .map_err(Error::from)?;
        Ok(())
    }

    /// Runs a git push through the ledger: intent, the push, its outcome.
    pub(super) async fn push_effect<T, Fut>(
        &self,
        report: &mut TickReport,
        ne: NewEffect,
        send: impl Fn() -> Fut,
    ) -> Result<PushDone<T>>
    where
        Fut: std::future::Future<Output = Result<T>>,
    {
        let key = ne.key();
        let record = |report: &mut TickReport, outcome: EffectOutcome| {
            report.actions.push(ActionRecord {
                subject: ne.subject.clone(),
                kind: EffectKind::Push,
                sha: ne.head_sha.clone(),
                outcome,
                idempotency_key: Some(key.clone()),
            });
        };
        if !self.record {
            let out = send().await?;
            record(report, EffectOutcome::Committed);
            return Ok(PushDone::Done(out));
        }
        let id = match self.ledger.record_intent(&ne).await.map_err(Error::from)? {
            Intent::Proceed(id) => id,
            Intent::Replayed { .. } => {
                record(report, EffectOutcome::Replayed);
                return Ok(PushDone::Replayed);
            }
            Intent::Unresolved { prior } => {
                // Resolved at the start of the tick (`recover_pushes`); still open means the
                // forge could not be read then: do not push blind.
                record(report, EffectOutcome::Unknown);
                return Err(Error::Internal(format!(
                    "the push {} of an earlier run ({}) is unresolved; the next tick resolves it from the forge",
                    ne.discriminator, prior.run_id
                )));
            }
        };
        self.progress.emit(
            "effect_started",
            json!({ "subject": ne.subject, "kind": "push", "idempotency_key": key }),
        );
        match send().await {
            Ok(out) => {
                self.ledger
                    .record_outcome(&id, &Outcome::Committed)
                    .await
                    .map_err(Error::from)?;
                record(report, EffectOutcome::Committed);
                Ok(PushDone::Done(out))
            }
            Err(e) => {
                // A git failure may have happened after the remote took the push: unknown,
                // resolved from the forge next tick.
                self.ledger
                    .record_outcome(&id, &Outcome::Unknown(e.to_string()))
                    .await
                    .map_err(Error::from)?;
                record(report, EffectOutcome::Unknown);
                Err(e)
            }
        }
    }

    /// Resolves earlier runs' unresolved pushes from the forge: a landing by the base's
    /// head, a staging push by the staging branch's batch id.
    pub(super) async fn recover_pushes(&self, report: &mut TickReport) -> Result<()> {
        if !self.record || self.dry_run {
            return Ok(());
        }
        let repo = self.forge.repo().to_string();
        let open = self
            .ledger
            .unresolved_effects(
                crate::queue::tick::RUN_COMMAND,
                &repo,
                &self.settings.branch,
                self.run_id,
            )
            .await
            .map_err(Error::from)?;
        for e in open.into_iter().filter(|e| e.kind == EffectKind::Push) {
            let id = e
                .subject
                .strip_prefix("batch:")
                .unwrap_or(&e.subject)
                .to_string();
            let done = if let Some(branch) = e.discriminator.strip_prefix("land:") {
                let head = e.head_sha.as_deref().and_then(Sha::parse);
                let now = self.forge.branch_head(branch).await;
                match (now, head) {
                    (Ok(now), Some(h)) => now == h || self.in_recent_history(branch, &h).await,
                    (Err(err), _) if !err.is_not_found() => return Err(err.into()),
                    _ => false,
                }
            } else if let Some(branch) = e.discriminator.strip_prefix("stage:") {
                match self.forge.branch_head(branch).await {
                    Ok(h) => self
                        .forge
                        .commit(&h)
                        .await
                        .ok()
                        .and_then(|c| batch::parse_staging_meta(&c.message))
                        .is_some_and(|(m, _, _)| m.id == id),
                    Err(err) if err.is_not_found() => false,
                    Err(err) => return Err(err.into()),
                }
            } else {
                false
            };
            let outcome = if done {
                Outcome::Committed
            } else {
                Outcome::Failed("not found on the forge after an interrupted push".into())
            };
            self.ledger
                .record_outcome(&e.id, &outcome)
                .await
                .map_err(Error::from)?;
            report.notes.push(format!(
                "recovered: run {}'s push ({}) of batch {id} was {} on the forge",
                e.run_id,
                e.discriminator,
                if done { "done" } else { "not done" }
            ));
        }
        Ok(())
    }

    /// Whether `commit` is among the newest commits of `branch` (a landing that later
    /// commits followed). A read failure is "not found": the landing is then retried, and
    /// its lease refuses it if the base moved.
    pub(super) async fn in_recent_history(&self, branch: &str, commit: &Sha) -> bool {
        self.forge
            .recent_commits(branch, 100)
            .await
            .is_ok_and(|cs| cs.iter().any(|c| &c.sha == commit))
    }

    pub(super) fn batch_report(
        &self,
        b: &Batch,
        state: &str,
        contexts: &[String],
        verdict: &Verdict,
        bisect: Option<&Bisect>,
    ) -> BatchReport {
        BatchReport {
            id: b.id.clone(),
            state: state.to_string(),
            base: Some(b.base.clone()),
            staging: Some(b.staging.clone()),
            members: b.members.iter().map(|m| m.pr).collect(),
            staging_branch: self.settings.batch.staging_branch.clone(),
            staging_contexts: contexts.to_vec(),
            verdict: verdict_state(verdict).to_string(),
            failing: match verdict {
                Verdict::Red(f) => f.clone(),
                _ => Vec::new(),
            },
            left_out: Vec::new(),
            suspects: bisect.map(|b| b.suspects.clone()).unwrap_or_default(),
            why: Vec::new(),
        }
    }
}

/// The outcome of a push through the ledger.
pub(super) enum PushDone<T> {
    Done(T),
    /// Already committed by an earlier run: not pushed again.
    Replayed,
}
