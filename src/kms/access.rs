//! Who can use or administer a key: AWS key policy statements and grants, GCP IAM bindings,
//! read into [`PrincipalAccess`] facts. Pure functions, unit-tested on real document shapes.
//!
//! Where a document cannot say for sure, the reading errs towards *more* access (a wildcard
//! action counts as every action, `NotAction` as everything it does not exclude, a custom role as
//! unknown permissions), so rules built on it can fail wrongly but never pass wrongly.

use serde_json::Value;

use crate::facts::{Effect, PrincipalAccess};

/// Actions that decrypt (or can hand out decryption).
const DECRYPT: &[&str] = &["kms:Decrypt"];
/// Cryptographic use other than decryption.
const USE: &[&str] = &[
    "kms:Encrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:Sign",
    "kms:Verify",
    "kms:GenerateMac",
    "kms:VerifyMac",
    "kms:DeriveSharedSecret",
];
/// Key administration.
const ADMIN: &[&str] = &[
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:UpdateKeyDescription",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:RevokeGrant",
    "kms:ImportKeyMaterial",
    "kms:DeleteImportedKeyMaterial",
    "kms:ReplicateKey",
    "kms:UpdatePrimaryRegion",
    "kms:TagResource",
    "kms:UntagResource",
];

/// Condition keys that pin a `*` principal to known accounts, organisations or networks.
const RESTRICTING_CONDITIONS: &[&str] = &[
    "aws:principalaccount",
    "kms:calleraccount",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalarn",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:sourcevpce",
    "aws:sourcevpc",
    "aws:userid",
    "aws:username",
];

/// IAM action match: `*` and `?` wildcards, case-insensitive (as IAM does), with the one
/// linear matcher: patterns come from key policies, which the vendor writes.
fn action_matches(pattern: &str, action: &str) -> bool {
    crate::subject::glob_match(pattern, action)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// `arn:aws:iam::123456789012:root` or a bare account id: the account's IAM policies decide.
fn is_account_root(p: &str) -> bool {
    let bare = p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit());
    bare || (p.starts_with("arn:aws") && p.contains(":iam::") && p.ends_with(":root"))
}

/// Reads an AWS key policy document into one entry per (statement, principal).
pub fn aws_key_policy(doc: &str) -> Result<Vec<PrincipalAccess>, String> {
    let v: Value =
        serde_json::from_str(doc).map_err(|e| format!("the key policy is not JSON: {e}"))?;
    let statements = match v.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return Err("the key policy has no Statement".into()),
    };
    let mut out = Vec::new();
    for (i, st) in statements.iter().enumerate() {
        let effect = match st.get("Effect").and_then(Value::as_str) {
            Some("Deny") => Effect::Deny,
            _ => Effect::Allow,
        };
        let source = match st.get("Sid").and_then(Value::as_str) {
            Some(sid) if !sid.is_empty() => format!("key policy statement \"{sid}\""),
            _ => format!("key policy statement #{}", i + 1),
        };
        let conditions: Vec<String> = st
            .get("Condition")
            .and_then(Value::as_object)
            .map(|ops| {
                ops.iter()
                    .flat_map(|(op, keys)| {
                        keys.as_object()
                            .into_iter()
                            .flat_map(|m| m.keys())
                            .map(move |k| format!("{op}:{k}"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let restricted = conditions.iter().any(|c| {
            let key = c.split_once(':').map_or(c.as_str(), |(_, k)| k);
            RESTRICTING_CONDITIONS.contains(&key.to_ascii_lowercase().as_str())
        });
        let grant_for_aws_resource = conditions.iter().any(|c| {
            c.to_ascii_lowercase()
                .ends_with("kms:grantisforawsresource")
        });

        let (actions, negated) = match (st.get("Action"), st.get("NotAction")) {
            (Some(a), _) => (strings(Some(a)), false),
            (None, Some(n)) => (strings(Some(n)), true),
            (None, None) => (Vec::new(), false),
        };
        let allows = |action: &str| {
            let hit = actions.iter().any(|p| action_matches(p, action));
            hit != negated
        };
        let known_kms = actions.iter().all(|p| {
            let lower = p.to_ascii_lowercase();
            lower == "*" || lower.starts_with("kms:")
        });
        let any_of = |set: &[&str]| set.iter().any(|a| allows(a));
        let create_grant = allows("kms:CreateGrant") && !grant_for_aws_resource;
        let can_decrypt = any_of(DECRYPT);
        let can_encrypt = any_of(USE);
        let can_administer = any_of(ADMIN) || create_grant;

        let mut principals: Vec<(String, bool)> = Vec::new();
        match (st.get("Principal"), st.get("NotPrincipal")) {
            (Some(Value::String(s)), _) => principals.push((s.clone(), s == "*")),
            (Some(Value::Object(m)), _) => {
                for (kind, vals) in m {
                    for p in strings(Some(vals)) {
                        let any = p == "*";
                        let label = if kind == "AWS" {
                            p
                        } else {
                            format!("{kind}:{p}")
                        };
                        principals.push((label, any));
                    }
                }
            }
            (None, Some(np)) => {
                // Allow with NotPrincipal: everyone except those named.
                let except = match np {
                    Value::String(s) => vec![s.clone()],
                    Value::Object(m) => m.values().flat_map(|v| strings(Some(v))).collect(),
                    _ => Vec::new(),
                };
                principals.push((format!("* except {}", except.join(", ")), true));
            }
            _ => {}
        }
        for (principal, any) in principals {
            out.push(PrincipalAccess {
                account_delegation: is_account_root(&principal),
                public: any && effect == Effect::Allow && !restricted,
                principal,
                source: source.clone(),
                effect,
                granted: if negated {
                    actions.iter().map(|a| format!("NotAction {a}")).collect()
                } else {
                    actions.clone()
                },
                can_decrypt,
                can_encrypt,
                can_administer,
                can_grant: create_grant,
                unknown_permissions: !known_kms,
                conditions: conditions.clone(),
            });
        }
    }
    Ok(out)
}

/// One AWS grant: the grantee and the operations it may call.
pub fn aws_grant(
    grant_id: &str,
    grantee: &str,
    operations: &[String],
    constrained: bool,
) -> PrincipalAccess {
    let has = |set: &[&str]| {
        operations
            .iter()
            .any(|o| set.iter().any(|a| a.trim_start_matches("kms:") == o))
    };
    let create_grant = operations.iter().any(|o| o == "CreateGrant");
    PrincipalAccess {
        principal: grantee.to_string(),
        source: format!("grant {grant_id}"),
        effect: Effect::Allow,
        granted: operations.to_vec(),
        can_decrypt: has(DECRYPT),
        can_grant: create_grant,
        can_encrypt: has(USE),
        can_administer: has(ADMIN) || create_grant || operations.iter().any(|o| o == "RetireGrant"),
        unknown_permissions: false,
        conditions: if constrained {
            vec!["grant encryption-context constraint".into()]
        } else {
            Vec::new()
        },
        public: grantee == "*",
        account_delegation: is_account_root(grantee),
    }
}

/// One GCP IAM binding member with its role.
pub fn gcp_binding(
    role: &str,
    member: &str,
    condition: Option<&str>,
    source: &str,
) -> PrincipalAccess {
    let r = role.trim_start_matches("roles/");
    let (decrypt, encrypt, admin, known) = match r {
        "cloudkms.cryptoKeyDecrypter" | "cloudkms.cryptoKeyDecrypterViaDelegation" => {
            (true, false, false, true)
        }
        "cloudkms.cryptoKeyEncrypterDecrypter"
        | "cloudkms.cryptoKeyEncrypterDecrypterViaDelegation"
        | "cloudkms.cryptoOperator" => (true, true, false, true),
        "cloudkms.cryptoKeyEncrypter"
        | "cloudkms.cryptoKeyEncrypterViaDelegation"
        | "cloudkms.signer"
        | "cloudkms.signerVerifier"
        | "cloudkms.verifier"
        | "cloudkms.macSigner"
        | "cloudkms.macVerifier"
        | "cloudkms.macSignerVerifier" => (false, true, false, true),
        "cloudkms.admin" | "cloudkms.importer" => (false, false, true, true),
        // Basic roles reach every key of the project: counted as able to do everything.
        "owner" | "editor" => (true, true, true, true),
        "viewer" | "cloudkms.viewer" | "cloudkms.publicKeyViewer" | "iam.securityReviewer" => {
            (false, false, false, true)
        }
        _ => (false, false, false, false),
    };
    let public = member == "allUsers" || member == "allAuthenticatedUsers";
    PrincipalAccess {
        principal: member.to_string(),
        source: format!("{source} binding {role}"),
        effect: Effect::Allow,
        granted: vec![role.to_string()],
        can_decrypt: decrypt,
        can_encrypt: encrypt,
        can_administer: admin,
        can_grant: admin && r != "cloudkms.importer",
        unknown_permissions: !known,
        conditions: condition.map(|c| vec![c.to_string()]).unwrap_or_default(),
        public,
        account_delegation: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key policy the AWS console writes, with administrators and users.
    const CONSOLE_POLICY: &str = r#"{
      "Version": "2012-10-17", "Id": "key-consolepolicy-3",
      "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyAdmin"},
         "Action": ["kms:Create*","kms:Describe*","kms:Enable*","kms:List*","kms:Put*","kms:Update*",
                    "kms:Revoke*","kms:Disable*","kms:Get*","kms:Delete*","kms:TagResource",
                    "kms:UntagResource","kms:ScheduleKeyDeletion","kms:CancelKeyDeletion","kms:RotateKeyOnDemand"],
         "Resource": "*"},
        {"Sid": "Allow use of the key", "Effect": "Allow",
         "Principal": {"AWS": ["arn:aws:iam::111122223333:role/App", "arn:aws:iam::111122223333:user/alice"]},
         "Action": ["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"],
         "Resource": "*"},
        {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"},
         "Action": ["kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"], "Resource": "*",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}
      ]}"#;

    #[test]
    fn console_policy_separates_admins_from_users() {
        let p = aws_key_policy(CONSOLE_POLICY).unwrap();
        assert_eq!(p.len(), 5);
        let root = &p[0];
        assert!(root.account_delegation && root.can_decrypt && root.can_administer);
        assert!(!root.public);
        let admin = &p[1];
        assert!(admin.can_administer && !admin.can_decrypt && !admin.can_encrypt);
        let app = &p[2];
        assert!(app.can_decrypt && app.can_encrypt && !app.can_administer);
        assert_eq!(p[3].principal, "arn:aws:iam::111122223333:user/alice");
        // RevokeGrant is administration; CreateGrant only for AWS resources is not.
        let attach = &p[4];
        assert!(attach.can_administer && !attach.can_decrypt && !attach.can_grant);
        // kms:Create* includes CreateGrant: an administrator can grant itself Decrypt.
        assert!(admin.can_grant);
        assert_eq!(attach.conditions, ["Bool:kms:GrantIsForAWSResource"]);
    }

    #[test]
    fn public_principals_unless_pinned_by_condition() {
        let open = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}}"#;
        let p = aws_key_policy(open).unwrap();
        assert!(p[0].public && p[0].can_decrypt);

        let aws_star =
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"kms:*"}]}"#;
        assert!(aws_key_policy(aws_star).unwrap()[0].public);

        let pinned = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Decrypt"],
            "Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}}]}"#;
        let p = aws_key_policy(pinned).unwrap();
        assert!(!p[0].public, "{p:?}");

        let ip_only = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt",
            "Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#;
        assert!(
            aws_key_policy(ip_only).unwrap()[0].public,
            "an IP range is not an identity"
        );

        let deny = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:*"}]}"#;
        assert!(!aws_key_policy(deny).unwrap()[0].public);

        let not_principal = r#"{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:user/x"},"Action":"kms:Decrypt"}]}"#;
        assert!(aws_key_policy(not_principal).unwrap()[0].public);
    }

    #[test]
    fn wildcards_and_not_action_err_towards_access() {
        let p = aws_key_policy(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:role/r"},"NotAction":["kms:Decrypt"]}]}"#,
        )
        .unwrap();
        assert!(!p[0].can_decrypt && p[0].can_encrypt && p[0].can_administer);
        let p = aws_key_policy(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:role/r"},"Action":"kms:De*"}]}"#,
        )
        .unwrap();
        assert!(
            p[0].can_decrypt && p[0].can_administer,
            "DeleteAlias, Decrypt"
        );
        let p = aws_key_policy(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},"Action":"*"}]}"#,
        )
        .unwrap();
        assert_eq!(p[0].principal, "Service:logs.amazonaws.com");
        assert!(p[0].can_decrypt && !p[0].unknown_permissions);
        assert!(aws_key_policy("{}").is_err());
        assert!(aws_key_policy("not json").is_err());
    }

    #[test]
    fn grants_and_bindings() {
        let g = aws_grant(
            "g1",
            "arn:aws:iam::1:role/batch",
            &["Decrypt".into(), "GenerateDataKey".into()],
            true,
        );
        assert!(g.can_decrypt && g.can_encrypt && !g.can_administer);
        assert_eq!(g.conditions.len(), 1);

        let b = gcp_binding(
            "roles/cloudkms.cryptoKeyEncrypterDecrypter",
            "user:a@x",
            None,
            "key",
        );
        assert!(b.can_decrypt && b.can_encrypt && !b.public);
        let b = gcp_binding("roles/cloudkms.admin", "allUsers", None, "key");
        assert!(b.public && b.can_administer && !b.can_decrypt);
        let b = gcp_binding("projects/p/roles/custom", "user:a@x", None, "key ring");
        assert!(b.unknown_permissions);
    }
}
