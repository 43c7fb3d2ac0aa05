//! Building a staging commit, and holding the PRs it leaves out or a red batch names.

#[allow(clippy::wildcard_imports)]
use super::*;

impl<F: Forge + ForgeBatch + ForgeHistory> Tick<'_, F> {
    /// Builds and pushes the next staging commit. Returns the PRs left out when no member
    /// merged (nothing pushed), else nothing.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn build(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        decisions: &[Decision],
        base: &Sha,
        members: Vec<Member>,
        meta: StagingMeta,
        contexts: &[String],
    ) -> Result<Vec<u64>> {
        let planned = Batch {
            id: meta.id.clone(),
            base: base.clone(),
            members: members.clone(),
            staging: base.clone(),
            rebuilds: meta.rebuilds,
        };
        if self.dry_run {
            let mut r = self.batch_report(
                &planned,
                "would_build",
                contexts,
                &Verdict::Pending,
                meta.bisect.as_ref(),
            );
            r.staging = None;
            report.batches.push(r);
            report.outcome = TickOutcome::Testing { batch: meta.id };
            return Ok(Vec::new());
        }
        let remote = self.git_remote().await?;
        let req = StagingRequest {
            remote,
            token: self.forge.git_token(),
            base_branch: self.settings.branch.clone(),
            base_head: base.clone(),
            members: members.clone(),
            pr_ref: PR_HEAD_REF.to_string(),
            staging_branch: self.settings.batch.staging_branch.clone(),
            batch_id: meta.id.clone(),
            extra_trailers: batch::meta_trailers(&meta),
        };
        let git = self.settings.batch.git.clone();
        let ne = NewEffect {
            run_id: self.run_id.to_string(),
            decision_id: None,
            subject: batch_subject(&meta.id),
            kind: EffectKind::Push,
            head_sha: None,
            base_sha: Some(base.to_string()),
            discriminator: format!("stage:{}", self.settings.batch.staging_branch),
            payload: json!({ "members": members.iter().map(|m| json!({"pr": m.pr, "head": m.head.as_str()})).collect::<Vec<_>>() }),
        };
        let staged = self
            .push_effect(report, ne, move || {
                let git = git.clone();
                let req = req.clone();
                async move { staging::build_async(git, req).await }
            })
            .await?;
        let staged = match staged {
            PushDone::Done(s) => s,
            // A build is never replayed: its id is new.
            PushDone::Replayed => return Ok(Vec::new()),
        };
        match staged {
            Staged::Built {
                staging,
                included,
                left_out,
            } => {
                let b = Batch {
                    staging: staging.clone(),
                    members: included.clone(),
                    ..planned
                };
                self.record_batch(
                    &b,
                    ledger::Action::Wait,
                    codes::BUILT,
                    format!(
                        "batch {} built: {} on {} as the staging commit {}",
                        b.id,
                        members_text(&included),
                        base.short(12),
                        staging
                    ),
                    json!({ "staging": staging.as_str(), "members": included.iter().map(|m| m.pr).collect::<Vec<_>>() }),
                )
                .await?;
                annotate(
                    "notice",
                    &format!(
                        "batch {} built: {} → {} on {}",
                        b.id,
                        members_text(&included),
                        staging.short(12),
                        self.settings.batch.staging_branch
                    ),
                );
                for m in &included {
                    if let Some(d) = decisions.iter().find(|d| d.pr.0 == m.pr) {
                        let c = snap.candidates.iter().find(|c| c.pr.number == d.pr);
                        self.queue_status(
                            report,
                            d,
                            ContextState::Pending,
                            messages::in_batch_status(&b.id, &staging),
                            c,
                        )
                        .await?;
                    }
                }
                let mut r = self.batch_report(
                    &b,
                    "built",
                    contexts,
                    &Verdict::Pending,
                    meta.bisect.as_ref(),
                );
                r.left_out = self
                    .left_out(report, snap, decisions, &b.id, &left_out)
                    .await?;
                report.batches.push(r);
                report.outcome = TickOutcome::Testing { batch: b.id };
            }
            Staged::NothingMerged { left_out } => {
                let mut r = self.batch_report(
                    &planned,
                    "nothing_merged",
                    contexts,
                    &Verdict::Pending,
                    meta.bisect.as_ref(),
                );
                r.staging = None;
                r.left_out = self
                    .left_out(report, snap, decisions, &planned.id, &left_out)
                    .await?;
                report.batches.push(r);
                report.outcome = TickOutcome::Held;
                return Ok(left_out.iter().map(|l| l.member.pr).collect());
            }
            Staged::BaseMoved { now } => {
                report.notes.push(format!(
                    "the base moved to {} while batch {} was built; the next tick builds on the new base",
                    now.map_or("nothing (deleted)".into(), |s| s.short(12).to_string()),
                    planned.id
                ));
            }
        }
        Ok(Vec::new())
    }

    /// Members left out of a staging commit: conflicts are held, moved heads re-read next
    /// tick. Returns (pr, why) for the report.
    pub(super) async fn left_out(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        decisions: &[Decision],
        id: &str,
        left_out: &[staging::LeftOut],
    ) -> Result<Vec<(u64, String)>> {
        let mut out = Vec::new();
        for l in left_out {
            let why = messages::left_out(id, &self.settings.branch, &l.reason);
            if l.reason.holds() {
                self.hold_member(
                    report,
                    snap,
                    decisions,
                    l.member.pr,
                    "batch_conflict",
                    why.clone(),
                )
                .await?;
            } else {
                report.notes.push(format!("#{}: {why}", l.member.pr));
            }
            out.push((l.member.pr, why));
        }
        Ok(out)
    }

    /// Holds a PR with the hold label, a comment and (when configured) a failure status.
    pub(super) async fn hold_member(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        decisions: &[Decision],
        pr: u64,
        code: &str,
        why: String,
    ) -> Result<()> {
        let c = snap.candidates.iter().find(|c| c.pr.number.0 == pr);
        let d = match decisions.iter().find(|d| d.pr.0 == pr) {
            Some(d) => d.clone(),
            None => match c {
                Some(c) => batch_decide(&snap.policy, &snap.base, c),
                None => {
                    report.notes.push(format!(
                        "#{pr} would be held ({why}) but was not read this tick"
                    ));
                    return Ok(());
                }
            },
        };
        self.hold(report, &snap.policy, &d, c, code, why).await
    }

    /// The links of the failing contexts on the staging commit.
    pub(super) async fn failing_links(
        &self,
        b: &Batch,
        failing: &[(String, String)],
    ) -> Vec<String> {
        let Ok(st) = self.forge.statuses(&b.staging).await else {
            return Vec::new();
        };
        failing
            .iter()
            .filter_map(|(c, _)| {
                st.latest
                    .iter()
                    .find(|(n, _)| &n.0 == c)
                    .and_then(|(_, r)| r.target_url.clone())
                    .map(|u| format!("{c}: {u}"))
            })
            .collect()
    }
}
