//! Rules on the KMS probe's facts: rotation, key material age, key spec, protection, residency,
//! state and who can use or administer each key.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use crate::facts::{
    AccessFacts, Effect, KeyDetails, KeyKind, KeyManager, KeyState, KeyUsage, PrincipalAccess,
    Protection,
};
use crate::policy::catalog::{Check, KeyCtx, ParamDef, ParamKind, RuleDef};
use crate::policy::finding::{Outcome, Severity};

/// The KMS rules, in catalogue order (each defined beside its logic below).
pub(super) const RULES: &[RuleDef] = &[
    ROTATION_ENABLED,
    ROTATION_PERIOD,
    NEXT_ROTATION,
    KEY_MATERIAL_AGE,
    AES256,
    HSM_PROTECTION,
    ALLOWED_REGIONS,
    KEY_ENABLED,
    NO_PUBLIC_ACCESS,
    MAX_DECRYPT_PRINCIPALS,
    SEPARATION_OF_DUTIES,
    TENANT_KEYS_DISTINCT,
];

/// The key's details, or the rule's `not_observed` outcome.
macro_rules! details_or_return {
    ($ctx:expr) => {
        match $ctx.key.key.as_ref() {
            Some(d) => d,
            None => return Outcome::not_observed("the key could not be described"),
        }
    };
}

fn date(t: OffsetDateTime) -> String {
    t.date().to_string()
}

fn days(d: Duration) -> i64 {
    d.whole_days()
}

/// The failed call behind a missing fact, for evidence.
fn why_missing(ctx: &KeyCtx<'_>, operations: &[&str]) -> String {
    let errs: Vec<String> = ctx
        .key
        .partial_errors
        .iter()
        .filter(|e| operations.contains(&e.operation.as_str()))
        .map(|e| format!("{} failed: {}", e.operation, e.message))
        .collect();
    if errs.is_empty() {
        "the KMS did not report it".into()
    } else {
        errs.join("; ")
    }
}

/// Keys that are not in use are not judged on rotation.
fn inactive(d: &KeyDetails) -> Option<Outcome> {
    match d.state {
        KeyState::Enabled | KeyState::Unknown | KeyState::Unavailable => None,
        _ => Some(Outcome::not_applicable(format!(
            "the key is {} and cannot be used",
            d.state_raw
        ))),
    }
}

/// Rotation rules apply only where the KMS can rotate the key by itself.
fn rotatable(d: &KeyDetails) -> Result<(), Outcome> {
    if let Some(o) = inactive(d) {
        return Err(o);
    }
    if !d.rotation.automatic_supported {
        return Err(Outcome::not_applicable(
            d.rotation
                .unsupported_reason
                .clone()
                .unwrap_or_else(|| "automatic rotation is not supported for this key".into()),
        ));
    }
    Ok(())
}

pub(super) const ROTATION_ENABLED: RuleDef = RuleDef {
    id: "kms.rotation_enabled",
    title: "Automatic rotation is enabled where the KMS supports it",
    severity: Severity::High,
    needs: &["keys[].key.rotation.enabled", "keys[].key.rotation.automatic_supported"],
    remediation: "Enable automatic rotation: AWS `aws kms enable-key-rotation --key-id KEY --rotation-period-in-days 90`; GCP `gcloud kms keys update KEY --rotation-period 90d --next-rotation-time ...`. Asymmetric, HMAC, imported and custom-store keys are not judged: rotate those by replacing them.",
    reference: "CIS AWS Foundations Benchmark v3.0 §3.6; CIS Google Cloud Platform Foundations Benchmark v3.0 §1.10; NIST SP 800-57 Part 1 Rev. 5 §5.3",
    params: &[],
    check: Check::Key(rotation_enabled),
};

pub fn rotation_enabled(ctx: &KeyCtx<'_>) -> Outcome {
    let d = details_or_return!(ctx);
    if let Err(o) = rotatable(d) {
        return o;
    }
    let r = &d.rotation;
    match r.enabled {
        Some(true) => Outcome::pass([match (r.period_days, r.next_rotation) {
            (Some(p), Some(n)) => format!(
                "automatic rotation enabled, every {p} days, next on {}",
                date(n)
            ),
            (Some(p), None) => format!("automatic rotation enabled, every {p} days"),
            _ => "automatic rotation enabled".to_string(),
        }]),
        Some(false) => Outcome::fail([format!(
            "automatic rotation is off for this {} {} key",
            d.spec, d.usage_raw
        )]),
        None => Outcome::not_observed(format!(
            "rotation status unknown: {}",
            why_missing(ctx, &["GetKeyRotationStatus"])
        )),
    }
}

pub(super) const ROTATION_PERIOD: RuleDef = RuleDef {
    id: "kms.rotation_period",
    title: "The rotation period is within the maximum",
    severity: Severity::Medium,
    needs: &["keys[].key.rotation.period_days"],
    remediation: "Shorten the rotation period (AWS `--rotation-period-in-days`, 90 to 2560; GCP `--rotation-period`).",
    reference: "NIST SP 800-57 Part 1 Rev. 5 §5.3.6 (cryptoperiods); CIS Google Cloud Platform Foundations Benchmark v3.0 §1.10 (90 days)",
    params: &[ParamDef { name: "max_days", kind: ParamKind::Count, default: "365", help: "longest rotation period allowed, in days (CIS GCP: 90)" }],
    check: Check::Key(rotation_period),
};

pub fn rotation_period(ctx: &KeyCtx<'_>) -> Outcome {
    let d = details_or_return!(ctx);
    if let Err(o) = rotatable(d) {
        return o;
    }
    let max = ctx.params.count("max_days");
    let r = &d.rotation;
    match (r.enabled, r.period_days) {
        (Some(false), _) => Outcome::fail([format!(
            "automatic rotation is off: the key material is never rotated (maximum {max} days)"
        )]),
        (None, _) => Outcome::not_observed(format!(
            "rotation status unknown: {}",
            why_missing(ctx, &["GetKeyRotationStatus"])
        )),
        (Some(true), None) => Outcome::not_observed(format!(
            "rotation is enabled but the rotation period was not reported: {}",
            why_missing(ctx, &["GetKeyRotationStatus"])
        )),
        (Some(true), Some(p)) if i64::from(p) > max => Outcome::fail([format!(
            "rotation period {p} days, above the maximum of {max} days"
        )]),
        (Some(true), Some(p)) => {
            Outcome::pass([format!("rotation period {p} days (maximum {max} days)")])
        }
    }
}

pub(super) const NEXT_ROTATION: RuleDef = RuleDef {
    id: "kms.next_rotation",
    title: "The next rotation is scheduled within one period and not overdue",
    severity: Severity::Medium,
    needs: &["keys[].key.rotation.next_rotation", "keys[].key.rotation.period_days"],
    remediation: "Set the next rotation time within one rotation period (GCP `--next-rotation-time`); an overdue date means rotation is stuck: check the key's state and the KMS's events.",
    reference: "NIST SP 800-57 Part 1 Rev. 5 §5.3.6",
    params: &[ParamDef { name: "max_days", kind: ParamKind::Count, default: "365", help: "the period used when the key's own period is longer or unknown, in days" }],
    check: Check::Key(next_rotation),
};

pub fn next_rotation(ctx: &KeyCtx<'_>) -> Outcome {
    let d = details_or_return!(ctx);
    if let Err(o) = rotatable(d) {
        return o;
    }
    let r = &d.rotation;
    if r.enabled != Some(true) {
        return Outcome::not_applicable(
            "automatic rotation is not enabled (see kms.rotation_enabled)",
        );
    }
    let max = ctx.params.count("max_days");
    let period = r.period_days.map_or(max, |p| i64::from(p).min(max));
    let Some(next) = r.next_rotation else {
        return Outcome::not_observed(format!(
            "the next rotation date was not reported: {}",
            why_missing(ctx, &["GetKeyRotationStatus"])
        ));
    };
    let ahead = next - ctx.observed_at;
    if ahead > Duration::days(period) {
        return Outcome::fail([format!(
            "next rotation on {} is {} days ahead, more than one period ({period} days)",
            date(next),
            days(ahead)
        )]);
    }
    if ahead < -Duration::days(1) {
        return Outcome::fail([format!(
            "next rotation was due on {}, {} days ago: rotation is overdue",
            date(next),
            -days(ahead)
        )]);
    }
    Outcome::pass([format!(
        "next rotation on {} ({} days ahead; period {period} days)",
        date(next),
        days(ahead).max(0)
    )])
}

pub(super) const KEY_MATERIAL_AGE: RuleDef = RuleDef {
    id: "kms.key_material_age",
    title: "The key material in use is no older than the rotation period allows",
    severity: Severity::High,
    needs: &["keys[].key.rotation.current_material_since", "keys[].key.rotation.history"],
    remediation: "Rotate the key now (AWS `aws kms rotate-key-on-demand`; GCP `gcloud kms keys versions create` and set it primary), then find out why rotation did not happen as configured or claimed.",
    reference: "NIST SP 800-57 Part 1 Rev. 5 §5.3.6 (originator-usage period of symmetric data-encryption keys)",
    params: &[
        ParamDef { name: "max_days", kind: ParamKind::Count, default: "365", help: "oldest key material allowed, in days (a shorter key rotation period wins)" },
        ParamDef { name: "grace_days", kind: ParamKind::Count, default: "7", help: "days allowed past the period before the material counts as overdue" },
    ],
    check: Check::Key(key_material_age),
};

pub fn key_material_age(ctx: &KeyCtx<'_>) -> Outcome {
    let d = details_or_return!(ctx);
    if let Some(o) = inactive(d) {
        return o;
    }
    if d.kind != KeyKind::Aes || d.usage != KeyUsage::EncryptDecrypt {
        return Outcome::not_applicable(format!(
            "{} {} keys are replaced rather than rotated; this rule judges symmetric encryption keys",
            d.spec, d.usage_raw
        ));
    }
    let r = &d.rotation;
    if !r.history_observed {
        return Outcome::not_observed(format!(
            "the rotation history could not be read: {}",
            why_missing(ctx, &["ListKeyRotations", "ListCryptoKeyVersions"])
        ));
    }
    let Some(since) = r.current_material_since else {
        return Outcome::not_observed("the KMS reported no creation or rotation date");
    };
    let max = ctx.params.count("max_days");
    let grace = ctx.params.count("grace_days");
    let (period, from) = match (r.enabled, r.period_days) {
        (Some(true), Some(p)) if i64::from(p) < max => (i64::from(p), "the key's rotation period"),
        _ => (max, "the policy's maximum"),
    };
    let age = ctx.observed_at - since;
    let last = match r.history.first() {
        Some(e) => format!(
            "last rotation {} ({:?}), {} rotation{} recorded",
            date(e.at),
            e.kind,
            r.history.len(),
            if r.history.len() == 1 { "" } else { "s" }
        )
        .replace("(OnDemand)", "(on demand)")
        .replace("(Automatic)", "(automatic)")
        .replace("(NewVersion)", "(new version)")
        .replace("(Import)", "(import)"),
        None => "never rotated".to_string(),
    };
    let evidence = format!(
        "key material in use since {} ({} days; {last}); limit {} days ({from} {period} + grace {grace})",
        date(since),
        days(age),
        period + grace
    );
    if days(age) > period + grace {
        Outcome::fail([evidence])
    } else {
        Outcome::pass([evidence])
    }
}

pub(super) const AES256: RuleDef = RuleDef {
    id: "kms.aes256",
    title: "Symmetric encryption keys are AES-256",
    severity: Severity::High,
    needs: &["keys[].key.kind", "keys[].key.bits"],
    remediation: "Create a 256-bit key (AWS SYMMETRIC_DEFAULT; GCP GOOGLE_SYMMETRIC_ENCRYPTION or AES_256_GCM), re-encrypt the data under it and retire the 128-bit key.",
    reference: "NIST SP 800-57 Part 1 Rev. 5 §5.6.2 (security strength beyond 2030); CNSA 2.0",
    params: &[],
    check: Check::Key(aes256),
};

pub fn aes256(ctx: &KeyCtx<'_>) -> Outcome {
    let d = details_or_return!(ctx);
    if d.kind != KeyKind::Aes
        || !matches!(
            d.usage,
            KeyUsage::EncryptDecrypt | KeyUsage::RawEncryptDecrypt
        )
    {
        return Outcome::not_applicable(format!(
            "{} {} is not a symmetric encryption key",
            d.spec, d.usage_raw
        ));
    }
    let what = match d.spec.as_str() {
        "SYMMETRIC_DEFAULT" | "GOOGLE_SYMMETRIC_ENCRYPTION" => format!("{} (AES-256-GCM)", d.spec),
        s => s.to_string(),
    };
    match d.bits {
        Some(256) => Outcome::pass([format!("{what}: 256-bit AES")]),
        Some(b) => Outcome::fail([format!("{what}: {b}-bit AES, not 256")]),
        None => Outcome::not_observed(format!(
            "{what}: the key size is not reported (external key material)"
        )),
    }
}

pub(super) const HSM_PROTECTION: RuleDef = RuleDef {
    id: "kms.hsm_protection",
    title: "Key material is protected by an HSM",
    severity: Severity::Medium,
    needs: &["keys[].key.protection"],
    remediation: "Create keys with HSM protection (GCP `--protection-level hsm`); for HSMs dedicated to you, an AWS CloudHSM key store or Cloud HSM single-tenant.",
    reference: "NIST FIPS 140-3; NIST SP 800-57 Part 1 Rev. 5 §6.2.2",
    params: &[ParamDef { name: "dedicated", kind: ParamKind::Bool, default: "false", help: "require HSMs dedicated to the customer, not the provider's shared HSMs" }],
    check: Check::Key(hsm_protection),
};

pub fn hsm_protection(ctx: &KeyCtx<'_>) -> Outcome {
    let d = details_or_return!(ctx);
    let dedicated = ctx.params.flag("dedicated");
    let store = d
        .custom_store
        .as_ref()
        .map(|s| format!(", store {s}"))
        .unwrap_or_default();
    let raw = format!("{}{store}", d.origin_raw);
    match d.protection {
        Protection::DedicatedHsm => Outcome::pass([format!("{raw}: HSMs dedicated to the customer")]),
        Protection::Hsm if !dedicated => Outcome::pass([format!(
            "{raw}: the provider's FIPS 140 Level 3 HSMs (shared by its customers)"
        )]),
        Protection::Hsm => Outcome::fail([format!(
            "{raw}: the provider's shared HSMs, not HSMs dedicated to the customer"
        )]),
        Protection::Software => Outcome::fail([format!("{raw}: software protection, no HSM")]),
        Protection::External => Outcome::not_observed(format!(
            "{raw}: the key material is held by an external key manager; whether it sits in an HSM cannot be seen from the KMS"
        )),
        Protection::Unknown => Outcome::not_observed(format!("{raw}: protection level not reported")),
    }
}

/// `*` matches any run of characters, `?` one; otherwise names match exactly
/// (case-insensitive): the one linear matcher shared with waivers and IAM actions.
fn name_matches(pattern: &str, name: &str) -> bool {
    crate::subject::glob_match(pattern, name)
}

pub(super) const ALLOWED_REGIONS: RuleDef = RuleDef {
    id: "kms.allowed_regions",
    title: "Key material stays within the allowed regions",
    severity: Severity::High,
    needs: &["keys[].location", "keys[].key.replica_locations"],
    remediation: "Create the key (and any multi-Region replica) in an allowed region and move the data to it; delete replicas outside the allowed regions.",
    reference: "GDPR Art. 44 (transfers); the organisation's data-residency commitments",
    params: &[ParamDef { name: "regions", kind: ParamKind::Names, default: "[]", help: "allowed AWS regions and GCP locations; `*` matches any run of characters (\"eu-*\")" }],
    check: Check::Key(allowed_regions),
};

pub fn allowed_regions(ctx: &KeyCtx<'_>) -> Outcome {
    let allowed = ctx.params.names("regions");
    if allowed.is_empty() {
        return Outcome::not_applicable(
            "the policy names no allowed regions (parameter `regions`)",
        );
    }
    let mut places = vec![ctx.key.location.clone()];
    if let Some(d) = &ctx.key.key {
        for r in &d.replica_locations {
            if !places.contains(r) {
                places.push(r.clone());
            }
        }
    }
    let outside: Vec<&String> = places
        .iter()
        .filter(|p| !allowed.iter().any(|a| name_matches(a, p)))
        .collect();
    let list = allowed.join(", ");
    if outside.is_empty() {
        Outcome::pass([format!(
            "key material in {} (allowed: {list})",
            places.join(", ")
        )])
    } else {
        Outcome::fail(outside.iter().map(|p| {
            let what = if **p == ctx.key.location {
                "key"
            } else {
                "multi-Region replica"
            };
            format!("{what} in {p}, outside the allowed regions ({list})")
        }))
    }
}

pub(super) const KEY_ENABLED: RuleDef = RuleDef {
    id: "kms.key_enabled",
    title: "The key is enabled and not scheduled for deletion",
    severity: Severity::Medium,
    needs: &["keys[].key.state"],
    remediation: "Cancel a deletion that was not intended (AWS `aws kms cancel-key-deletion`; GCP `gcloud kms keys versions restore`), or remove keys no longer used from the plan.",
    reference: "NIST SP 800-57 Part 1 Rev. 5 §7 (key states)",
    params: &[],
    check: Check::Key(key_enabled),
};

pub fn key_enabled(ctx: &KeyCtx<'_>) -> Outcome {
    let d = details_or_return!(ctx);
    match d.state {
        KeyState::Enabled => Outcome::pass([format!("state {}", d.state_raw)]),
        KeyState::PendingDeletion => Outcome::fail([match d.deletion_date {
            Some(t) => format!(
                "state {}: key material is deleted on {}",
                d.state_raw,
                date(t)
            ),
            None => format!("state {}: the key is scheduled for deletion", d.state_raw),
        }]),
        KeyState::Unknown => Outcome::not_observed(format!("state {} not understood", d.state_raw)),
        _ => Outcome::fail([format!("state {}: the key cannot be used", d.state_raw)]),
    }
}

/// The access facts, or the rule's `not_observed` outcome.
fn access<'a>(ctx: &KeyCtx<'a>) -> Result<&'a AccessFacts, Outcome> {
    let d = ctx
        .key
        .key
        .as_ref()
        .ok_or_else(|| Outcome::not_observed("the key could not be described"))?;
    d.access.as_ref().ok_or_else(|| {
        Outcome::not_observed(format!(
            "who can use the key is unknown: {}",
            why_missing(ctx, &["GetKeyPolicy", "ListGrants", "GetIamPolicy"])
        ))
    })
}

fn describe(p: &PrincipalAccess) -> String {
    let cond = if p.conditions.is_empty() {
        String::new()
    } else {
        format!(" if {}", p.conditions.join(", "))
    };
    format!(
        "{} via {} ({}){cond}",
        p.principal,
        p.source,
        p.granted.join(", ")
    )
}

fn allows(a: &AccessFacts) -> impl Iterator<Item = &PrincipalAccess> {
    a.principals.iter().filter(|p| p.effect == Effect::Allow)
}

pub(super) const NO_PUBLIC_ACCESS: RuleDef = RuleDef {
    id: "kms.no_public_access",
    title: "No public principal can use or manage the key",
    severity: Severity::Critical,
    needs: &["keys[].key.access.principals[].public"],
    remediation: "Remove `\"Principal\": \"*\"` statements (or pin them with aws:PrincipalOrgID / kms:CallerAccount conditions); remove allUsers and allAuthenticatedUsers bindings.",
    reference: "CIS Google Cloud Platform Foundations Benchmark v3.0 §1.9; AWS Security Hub KMS.5",
    params: &[],
    check: Check::Key(no_public_access),
};

pub fn no_public_access(ctx: &KeyCtx<'_>) -> Outcome {
    let a = match access(ctx) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let public: Vec<String> = allows(a).filter(|p| p.public).map(describe).collect();
    if public.is_empty() {
        Outcome::pass([format!(
            "{} principal entr{} in {}; none public",
            a.principals.len(),
            if a.principals.len() == 1 { "y" } else { "ies" },
            a.sources.join(", ")
        )])
    } else {
        Outcome::fail(public.into_iter().map(|p| format!("public: {p}")))
    }
}

pub(super) const MAX_DECRYPT_PRINCIPALS: RuleDef = RuleDef {
    id: "kms.max_decrypt_principals",
    title: "At most N principals may decrypt with the key",
    severity: Severity::High,
    needs: &["keys[].key.access.principals[].can_decrypt"],
    remediation: "Name the principals allowed to decrypt explicitly in the key policy or IAM bindings, remove the rest, and keep kms:Decrypt out of the account-root statement.",
    reference: "NIST SP 800-57 Part 2 Rev. 1 §6.1 (least privilege for key access); the vendor's custody claim",
    params: &[ParamDef { name: "max", kind: ParamKind::Count, default: "2", help: "most distinct principals allowed to decrypt" }],
    check: Check::Key(max_decrypt_principals),
};

pub fn max_decrypt_principals(ctx: &KeyCtx<'_>) -> Outcome {
    let a = match access(ctx) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let max = ctx.params.count("max");
    let mut failures = Vec::new();
    let mut decrypters: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for p in allows(a).filter(|p| p.can_decrypt || p.can_grant || p.unknown_permissions) {
        if p.public {
            failures.push(format!("anyone may decrypt: {}", describe(p)));
        } else if p.account_delegation {
            failures.push(format!(
                "{} lets every IAM principal of that account that its IAM policies allow decrypt: the key does not bound who can decrypt",
                describe(p)
            ));
        }
        decrypters
            .entry(&p.principal)
            .or_default()
            .push(if p.unknown_permissions {
                format!("{} (permissions not visible, counted)", describe(p))
            } else {
                describe(p)
            });
    }
    let n = decrypters.len() as i64;
    let listing: Vec<String> = decrypters.values().flatten().cloned().collect();
    if n > max {
        failures.insert(0, format!("{n} principals may decrypt, more than {max}"));
    }
    if !failures.is_empty() {
        failures.extend(listing);
        return Outcome::fail(failures);
    }
    let mut evidence = vec![format!(
        "{n} principal{} may decrypt (maximum {max})",
        if n == 1 { "" } else { "s" }
    )];
    evidence.extend(listing);
    evidence.extend(a.blind_spots.iter().map(|b| format!("not seen: {b}")));
    Outcome::pass(evidence)
}

pub(super) const SEPARATION_OF_DUTIES: RuleDef = RuleDef {
    id: "kms.separation_of_duties",
    title: "Key administrators and key users are different principals",
    severity: Severity::Medium,
    needs: &["keys[].key.access.principals[].can_administer"],
    remediation: "Give administration (Put*, ScheduleKeyDeletion, roles/cloudkms.admin) and use (Decrypt, Encrypt, roles/cloudkms.cryptoKeyEncrypterDecrypter) to different principals.",
    reference: "CIS Google Cloud Platform Foundations Benchmark v3.0 §1.11; NIST SP 800-57 Part 2 Rev. 1 §6.1",
    params: &[],
    check: Check::Key(separation_of_duties),
};

pub fn separation_of_duties(ctx: &KeyCtx<'_>) -> Outcome {
    let d = details_or_return!(ctx);
    if d.manager == KeyManager::Provider {
        return Outcome::not_applicable("provider-managed key: its policy is the provider's");
    }
    let a = match access(ctx) {
        Ok(a) => a,
        Err(o) => return o,
    };
    // Capabilities per principal, across every statement, grant and binding.
    let mut admin: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut users: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut delegated = Vec::new();
    for p in allows(a) {
        if p.account_delegation {
            delegated.push(describe(p));
            continue;
        }
        if p.can_administer {
            admin.entry(&p.principal).or_default().push(describe(p));
        }
        if p.can_decrypt || p.can_encrypt {
            users.entry(&p.principal).or_default().push(describe(p));
        }
    }
    let both: Vec<String> = admin
        .iter()
        .filter(|(who, _)| users.contains_key(*who))
        .map(|(who, how)| {
            let mut all = how.clone();
            all.extend(users[who].iter().cloned());
            all.dedup();
            format!(
                "{who} both administers and uses the key: {}",
                all.join("; ")
            )
        })
        .collect();
    if !both.is_empty() {
        return Outcome::fail(both);
    }
    let note = |mut e: Vec<String>| {
        if !delegated.is_empty() {
            e.push(format!(
                "also delegated to IAM (not judged, IAM policies are not read): {}",
                delegated.join("; ")
            ));
        }
        e
    };
    if admin.is_empty() && users.is_empty() {
        return Outcome {
            status: crate::policy::Status::NotObserved,
            evidence: note(vec![
                "no principal is named for administration or use; access is decided elsewhere"
                    .into(),
            ]),
        };
    }
    let names = |m: &BTreeMap<&str, Vec<String>>| {
        if m.is_empty() {
            "none".to_string()
        } else {
            m.keys().copied().collect::<Vec<_>>().join(", ")
        }
    };
    Outcome::pass(note(vec![
        format!("administrators: {}", names(&admin)),
        format!("users: {}", names(&users)),
    ]))
}

pub(super) const TENANT_KEYS_DISTINCT: RuleDef = RuleDef {
    id: "kms.tenant_keys_distinct",
    title: "No two tenants share a key",
    severity: Severity::High,
    needs: &["tenants", "keys[].id", "keys[].aliases"],
    remediation: "Give each tenant its own key (and its own alias); re-encrypt the tenants' data under their keys.",
    reference: "NIST SP 800-57 Part 1 Rev. 5 §5.2 (key usage: one purpose and owner per key)",
    params: &[],
    check: Check::Key(tenant_keys_distinct),
};

pub fn tenant_keys_distinct(ctx: &KeyCtx<'_>) -> Outcome {
    let tenants: Vec<&str> = ctx
        .all
        .tenants
        .iter()
        .filter(|t| t.keys.iter().any(|k| ctx.key.is_named_by(k)))
        .map(|t| t.name.as_str())
        .collect();
    match tenants.as_slice() {
        [] => Outcome::not_applicable("no tenant in the plan uses this key"),
        [one] => Outcome::pass([format!("used by tenant {one} only")]),
        many => Outcome::fail([format!(
            "shared by {} tenants: {}",
            many.len(),
            many.join(", ")
        )]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{
        Cloud, FactSet, KeyFacts, KeyOrigin, RotationEvent, RotationFacts, RotationKind,
    };
    use crate::policy::catalog::{ParamValue, Params};
    use crate::policy::Status;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-11-25 12:00 UTC)
    }

    fn key(rotation: RotationFacts) -> KeyFacts {
        KeyFacts {
            cloud: Cloud::Aws,
            id: "arn:aws:kms:eu-west-1:1:key/k".into(),
            account: "1".into(),
            location: "eu-west-1".into(),
            aliases: vec!["alias/k".into()],
            requested_as: None,
            description: None,
            key: Some(KeyDetails {
                spec: "SYMMETRIC_DEFAULT".into(),
                kind: KeyKind::Aes,
                bits: Some(256),
                usage_raw: "ENCRYPT_DECRYPT".into(),
                usage: KeyUsage::EncryptDecrypt,
                origin_raw: "AWS_KMS".into(),
                origin: KeyOrigin::Generated,
                protection: Protection::Hsm,
                custom_store: None,
                manager: KeyManager::Customer,
                state: KeyState::Enabled,
                state_raw: "Enabled".into(),
                deletion_date: None,
                created_at: Some(now() - Duration::days(400)),
                multi_region: false,
                replica_locations: Vec::new(),
                rotation,
                versions: Vec::new(),
                access: None,
            }),
            error: None,
            partial_errors: Vec::new(),
            source: None,
        }
    }

    fn rotating(period: u32, next_in_days: i64, last_days_ago: i64) -> RotationFacts {
        RotationFacts {
            automatic_supported: true,
            unsupported_reason: None,
            enabled: Some(true),
            period_days: Some(period),
            next_rotation: Some(now() + Duration::days(next_in_days)),
            history: vec![RotationEvent {
                at: now() - Duration::days(last_days_ago),
                kind: RotationKind::Automatic,
                material: None,
            }],
            history_observed: true,
            current_material_since: Some(now() - Duration::days(last_days_ago)),
        }
    }

    fn run(
        check: fn(&KeyCtx<'_>) -> Outcome,
        k: &KeyFacts,
        params: Vec<(&'static str, ParamValue)>,
    ) -> Outcome {
        let all = FactSet {
            schema_version: 1,
            tool_version: "t".into(),
            observed_at: now(),
            endpoints: Vec::new(),
            keys: vec![k.clone()],
            kms_errors: Vec::new(),
            tenants: Vec::new(),
            bench: None,
            load: None,
        };
        check(&KeyCtx {
            key: k,
            all: &all,
            observed_at: now(),
            params: &Params(params),
        })
    }

    #[test]
    fn period_next_and_age() {
        let max = |n| {
            vec![
                ("max_days", ParamValue::Count(n)),
                ("grace_days", ParamValue::Count(7)),
            ]
        };
        let k = key(rotating(90, 30, 60));
        assert_eq!(run(rotation_period, &k, max(365)).status, Status::Pass);
        assert_eq!(run(rotation_period, &k, max(30)).status, Status::Fail);
        assert_eq!(run(next_rotation, &k, max(365)).status, Status::Pass);
        assert_eq!(run(key_material_age, &k, max(365)).status, Status::Pass);

        // Rotation configured every 90 days, but the material is 200 days old: rotation is stuck.
        let stuck = key(rotating(90, -110, 200));
        let o = run(key_material_age, &stuck, max(365));
        assert_eq!(o.status, Status::Fail, "{:?}", o.evidence);
        assert!(o.evidence[0].contains("limit 97 days"), "{:?}", o.evidence);
        assert_eq!(run(next_rotation, &stuck, max(365)).status, Status::Fail);

        // A next date beyond one period.
        let far = key(rotating(30, 200, 5));
        assert_eq!(run(next_rotation, &far, max(365)).status, Status::Fail);

        // A 30-day claim against yearly rotation: the history contradicts it.
        let yearly = key(rotating(365, 300, 65));
        assert_eq!(run(key_material_age, &yearly, max(30)).status, Status::Fail);

        // History not readable: never a pass.
        let mut unknown = rotating(90, 30, 10);
        unknown.history_observed = false;
        assert_eq!(
            run(key_material_age, &key(unknown), max(365)).status,
            Status::NotObserved
        );
    }

    #[test]
    fn replicas_count_for_residency() {
        let mut k = key(rotating(90, 30, 10));
        let eu = vec![("regions", ParamValue::Names(vec!["eu-*".into()]))];
        assert_eq!(run(allowed_regions, &k, eu.clone()).status, Status::Pass);
        if let Some(d) = k.key.as_mut() {
            d.multi_region = true;
            d.replica_locations = vec!["eu-west-1".into(), "us-east-1".into()];
        }
        let o = run(allowed_regions, &k, eu);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.evidence[0].contains("replica in us-east-1"),
            "{:?}",
            o.evidence
        );
        assert_eq!(
            run(allowed_regions, &k, Vec::new()).status,
            Status::NotApplicable
        );
    }

    #[test]
    fn region_patterns() {
        assert!(name_matches("eu-*", "eu-west-1"));
        assert!(name_matches("europe-west3", "EUROPE-WEST3"));
        assert!(!name_matches("eu-*", "us-east-1"));
        assert!(name_matches("*-west-*", "eu-west-1"));
        assert!(!name_matches("europe-*", "europe"));
        assert!(name_matches("*", "global"));
    }
}
