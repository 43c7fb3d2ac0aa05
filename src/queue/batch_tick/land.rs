//! Landing a green batch: the re-read right before it, the push (or merges through the
//! API), and marking each PR merged.

#[allow(clippy::wildcard_imports)]
use super::*;

impl<F: Forge + ForgeBatch + ForgeHistory> Tick<'_, F> {
    /// Re-reads, right before landing, what [`batch::may_land`] checks.
    pub(super) async fn land_check(&self, snap: &Snapshot, b: &Batch) -> Result<LandCheck> {
        let base = self.forge.branch_head(&self.settings.branch).await?;
        let mut members = Vec::with_capacity(b.members.len());
        for m in &b.members {
            let pr = self.forge.pull(PrNumber(m.pr)).await?;
            if pr.state != PrState::Open || pr.merged {
                members.push((m.pr, None, false));
                continue;
            }
            let ok = match self.read_candidate(&pr, &base).await {
                Ok(c) => {
                    policy::ineligible(&snap.policy, &c.pr).is_none()
                        && matches!(
                            batch_decide(&snap.policy, &snap.base, &c).action,
                            Action::Merge { .. }
                        )
                }
                Err(e) if e.is_not_found() => false,
                Err(e) => return Err(e.into()),
            };
            members.push((m.pr, Some(pr.head_sha.clone()), ok));
        }
        Ok(LandCheck { base, members })
    }

    /// Lands a green batch; `Some(why)` when it was not landed (rebuild).
    pub(super) async fn land(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        b: &Batch,
    ) -> Result<Option<Vec<String>>> {
        if self.settings.batch.landing == BatchLanding::MergeApi {
            return self.land_by_merge_api(report, snap, b).await;
        }
        let remote = self.git_remote().await?;
        let req = LandRequest {
            remote,
            token: self.forge.git_token(),
            base_branch: self.settings.branch.clone(),
            batch_base: b.base.clone(),
            staging_branch: self.settings.batch.staging_branch.clone(),
            staging: b.staging.clone(),
            batch_id: b.id.clone(),
            members: b.members.clone(),
        };
        let git = self.settings.batch.git.clone();
        let ne = land_effect(self.run_id, b, &self.settings.branch);
        let landed = self
            .push_effect(report, ne, move || {
                let git = git.clone();
                let req = req.clone();
                async move {
                    tokio::task::spawn_blocking(move || staging::land(&git, &req))
                        .await
                        .map_err(|e| Error::Internal(format!("the landing task failed: {e}")))?
                }
            })
            .await?;
        match landed {
            PushDone::Replayed | PushDone::Done(Landed::Landed) => {}
            PushDone::Done(Landed::BaseMoved { now }) => {
                return Ok(Some(vec![format!(
                    "the base moved to {} before the landing",
                    now.map_or("nothing (deleted)".into(), |s| s.short(12).to_string())
                )]));
            }
            PushDone::Done(Landed::NotTheBatch { why }) => {
                let text = format!(
                    "batch {}: not landed: {why}; the staging branch {} is mergeward's own, and what it holds is landed only when it is exactly the base with the batch's PRs merged",
                    b.id, self.settings.batch.staging_branch
                );
                annotate("error", &text);
                return Ok(Some(vec![text]));
            }
            PushDone::Done(Landed::StagingMoved { now }) => {
                return Ok(Some(vec![format!(
                    "the staging branch moved to {} before the landing: what was tested is not what would land",
                    now.map_or("nothing (deleted)".into(), |s| s.short(12).to_string())
                )]));
            }
        }
        annotate(
            "notice",
            &format!(
                "batch {} landed on {}: {}",
                b.id,
                self.settings.branch,
                members_text(&b.members)
            ),
        );
        self.finish_landing(report, snap, b).await?;
        Ok(None)
    }

    /// `queue.batch_landing = "merge-api"`: each member merged through the API pinned to its
    /// head, in batch order, only while the base is what the previous step left; then the
    /// base's tree must be the tested tree.
    pub(super) async fn land_by_merge_api(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        b: &Batch,
    ) -> Result<Option<Vec<String>>> {
        let f = self.forge;
        let mut expected = b.base.clone();
        for (i, m) in b.members.iter().enumerate() {
            let now = f.branch_head(&self.settings.branch).await?;
            if now != expected {
                if i == 0 {
                    return Ok(Some(vec![format!(
                        "the base moved from {} to {} before the landing",
                        expected.short(12),
                        now.short(12)
                    )]));
                }
                return Err(Error::usage_hint(
                    format!(
                        "batch {}: the base moved to {} while its PRs were merged one by one ({} of {} merged): the base now holds a combination that was not tested",
                        b.id,
                        now.short(12),
                        i,
                        b.members.len()
                    ),
                    "look at the base branch now; mergeward stops here and merges nothing more until a person has checked it",
                ));
            }
            let d = Decision {
                pr: PrNumber(m.pr),
                head: m.head.clone(),
                base_head: expected.clone(),
                action: Action::Merge { force: false },
                reason: policy::Reason::Ready {
                    forced_past: Vec::new(),
                    note: None,
                },
            };
            let did = self
                .record_decision(&snap.policy, &d, None, None, None)
                .await?;
            let req = MergeRequest {
                method: MergeMethod::Merge,
                title: format!("Merge #{} (mergeward batch {})", m.pr, b.id),
                message: format!(
                    "Tested in the staging commit {} of batch {}.",
                    b.staging, b.id
                ),
                force: false,
            };
            let done = self
                .effect(
                    report,
                    did.as_deref(),
                    d.pr,
                    EffectKind::Merge,
                    Some(&m.head),
                    Some(&expected),
                    "batch-merge-api",
                    || f.merge(d.pr, &m.head, &req),
                )
                .await?;
            if let crate::queue::execute::Done::Refused(e) = done {
                return Err(Error::ForgeCtx {
                    context: format!(
                        "batch {}: merging #{} through the API was refused after {} of {} PRs merged",
                        b.id,
                        m.pr,
                        i,
                        b.members.len()
                    ),
                    err: Box::new(e),
                    hint: Some(
                        "look at the base branch; the rest of the batch is not merged".into(),
                    ),
                });
            }
            expected = f.branch_head(&self.settings.branch).await?;
        }
        let landed = f.commit(&expected).await?;
        let tested = f.commit(&b.staging).await?;
        match (&landed.tree, &tested.tree) {
            (Some(a), Some(t)) if a == t => {}
            (a, t) => {
                return Err(Error::usage_hint(
                    format!(
                        "batch {}: after merging {} through the API, the base's tree ({}) is not the tested staging commit's tree ({}): the base holds something that was not tested",
                        b.id,
                        members_text(&b.members),
                        a.as_ref()
                            .map_or("unknown".into(), |s| s.short(12).to_string()),
                        t.as_ref()
                            .map_or("unknown".into(), |s| s.short(12).to_string()),
                    ),
                    "check the base branch by hand (a merge method other than a merge commit, or a server-side change); mergeward stops here",
                ));
            }
        }
        self.record_batch(
            b,
            ledger::Action::Merge,
            codes::LANDED,
            format!(
                "batch {} merged through the API onto {}; the base's tree is the tested tree",
                b.id, self.settings.branch
            ),
            json!({ "base": expected.as_str() }),
        )
        .await?;
        Ok(None)
    }

    /// After the base reached the staging commit: each member marked merged (Gitea/Forgejo:
    /// `manually-merged`; GitHub does it by itself) and the batch recorded as landed.
    pub(super) async fn finish_landing(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        b: &Batch,
    ) -> Result<()> {
        let f = self.forge;
        // Recorded as landed only once every PR is merged on the forge: otherwise the next
        // tick finishes it (the base already is the staging commit).
        let mut all_marked = true;
        for m in &b.members {
            let n = PrNumber(m.pr);
            let pr = match f.pull(n).await {
                Ok(p) => p,
                Err(e) => {
                    all_marked = false;
                    report.could_not_decide(
                        m.pr,
                        format!(
                            "batch {} landed, but #{} could not be read to mark it merged: {e}",
                            b.id, m.pr
                        ),
                        ExitCode::CouldNotDecide,
                    );
                    continue;
                }
            };
            if pr.merged {
                continue;
            }
            if pr.head_sha != m.head {
                // Pushed to after the landing: the tested head is in the base, the new
                // commits are not. Marking it merged would close it without them; it stays
                // open and is queued again on its new head.
                report.notes.push(format!(
                    "#{} landed in batch {} on its head {}, but was pushed to since ({}): not marked merged; the new commits go through the queue again",
                    m.pr,
                    b.id,
                    m.head.short(12),
                    pr.head_sha.short(12)
                ));
                continue;
            }
            if f.kind() == ForgeKind::GitHub {
                report.notes.push(format!(
                    "#{} is in {} (batch {}); GitHub marks it merged once it sees the push",
                    m.pr, self.settings.branch, b.id
                ));
                continue;
            }
            let d = Decision {
                pr: n,
                head: m.head.clone(),
                base_head: b.staging.clone(),
                action: Action::Merge { force: false },
                reason: policy::Reason::Ready {
                    forced_past: Vec::new(),
                    note: None,
                },
            };
            let did = self
                .record_decision(
                    &snap.policy,
                    &d,
                    None,
                    None,
                    Some((
                        codes::LANDED,
                        format!(
                            "landed in batch {} by the tested staging commit {}",
                            b.id, b.staging
                        ),
                    )),
                )
                .await?;
            let disc = format!("manually-merged:{}", b.staging);
            let done = self
                .effect(
                    report,
                    did.as_deref(),
                    n,
                    EffectKind::Merge,
                    Some(&m.head),
                    Some(&b.staging),
                    &disc,
                    || f.mark_merged(n, &b.staging),
                )
                .await?;
            if let crate::queue::execute::Done::Refused(e) = done {
                match f.pull(n).await {
                    Ok(p) if p.merged => {}
                    _ => {
                        all_marked = false;
                        report.could_not_decide(
                        m.pr,
                        format!(
                            "batch {} landed on {} (its head is in the base), but the forge refused to mark #{} merged: {e}; the next tick tries again",
                            b.id, self.settings.branch, m.pr
                        ),
                        ExitCode::CouldNotDecide,
                    );
                    }
                }
            }
        }
        if !all_marked {
            return Ok(());
        }
        self.record_batch(
            b,
            ledger::Action::Merge,
            codes::LANDED,
            format!(
                "batch {} landed: {} fast-forwarded to the tested staging commit {} ({})",
                b.id,
                self.settings.branch,
                b.staging,
                members_text(&b.members)
            ),
            json!({}),
        )
        .await?;
        Ok(())
    }
}

/// The landing effect of a batch (its key is the same in every run).
pub(super) fn land_effect(run_id: &str, b: &Batch, branch: &str) -> NewEffect {
    NewEffect {
        run_id: run_id.to_string(),
        decision_id: None,
        subject: batch_subject(&b.id),
        kind: EffectKind::Push,
        head_sha: Some(b.staging.to_string()),
        base_sha: Some(b.base.to_string()),
        discriminator: format!("land:{branch}"),
        payload: json!({ "members": b.members.iter().map(|m| m.pr).collect::<Vec<_>>() }),
    }
}
