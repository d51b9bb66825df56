#!/usr/bin/env bash
# Deploys infra/aws-keys-region.yaml to every enabled region of the account
# but the home one, so a decoy AWS key used in any region reaches the home
# stack's rules (docs/aws-keys.md, "Every region").
#
#   infra/aws-keys-regions.sh --home-stack NAME --home-region REGION [--stack-name NAME] [--dry-run]
#
# It reads DecoyUserPath and ForwarderRolePath from the home stack's
# outputs (so the patterns cannot drift from the home rule's), lists the
# enabled regions (`aws ec2 describe-regions` lists only the regions the
# account can use unless asked for all), and runs one `aws cloudformation
# deploy` per region. --dry-run prints those commands instead of running
# them (the two read-only calls still run). Run it again after enabling a
# region: a region enabled later has no forwarder until then.
#
# Why a script and not a StackSet: a StackSet needs either AWS
# Organizations (service-managed) or an administration and an execution
# role set up by hand (self-managed), and still has to be told the region
# list; decoy keys live in one dedicated account, where the operator's own
# credentials and this loop do the same with nothing more to set up.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPLATE="$ROOT/infra/aws-keys-region.yaml"

usage() {
    sed -n '6p' "${BASH_SOURCE[0]}" | sed 's/^#   /usage: /' >&2
    exit 2
}
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

home_stack="" home_region="" stack_name="honeytoken-aws-keys-region" dry_run=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --home-stack) home_stack="${2:-}"; shift 2 || usage ;;
        --home-region) home_region="${2:-}"; shift 2 || usage ;;
        --stack-name) stack_name="${2:-}"; shift 2 || usage ;;
        --dry-run) dry_run=1; shift ;;
        -h|--help) usage ;;
        *) printf 'error: unknown argument %q\n' "$1" >&2; usage ;;
    esac
done
[[ -n "$home_stack" ]] || die "--home-stack NAME is required (the honeytoken stack deployed from template.yaml)"
[[ "$home_region" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]$ ]] || die "--home-region must be the home stack's region, such as eu-west-1 (got '${home_region}')"
[[ "$stack_name" =~ ^[A-Za-z][A-Za-z0-9-]{0,127}$ ]] || die "--stack-name must be a CloudFormation stack name (letters, digits, hyphens)"

output() {
    local v
    v="$(aws cloudformation describe-stacks --region "$home_region" --stack-name "$home_stack" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text)" \
        || die "cannot read the outputs of stack '$home_stack' in $home_region"
    [[ -n "$v" && "$v" != "None" ]] || die "stack '$home_stack' in $home_region has no output $1: update it from template.yaml first"
    printf '%s' "$v"
}
decoy_user_path="$(output DecoyUserPath)"
forwarder_role_path="$(output ForwarderRolePath)"

regions="$(aws ec2 describe-regions --region "$home_region" --query 'Regions[].RegionName' --output text)" \
    || die "cannot list the account's regions (ec2:DescribeRegions)"
read -r -a regions <<<"$(printf '%s' "$regions" | tr -s '[:space:]' ' ')"
[[ ${#regions[@]} -gt 0 ]] || die "describe-regions returned no region"

# A typo in --home-region would otherwise deploy a forwarder into the home
# region itself (refused by the template) and none where it is needed.
printf '%s\n' "${regions[@]}" | grep -qxF "$home_region" \
    || die "home region $home_region is not among the account's enabled regions: check --home-region"

failed=()
for region in "${regions[@]}"; do
    [[ "$region" == "$home_region" ]] && continue
    cmd=(aws cloudformation deploy --region "$region" --stack-name "$stack_name"
        --template-file "$TEMPLATE" --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset
        --parameter-overrides "HomeRegion=$home_region" "DecoyUserPath=$decoy_user_path"
        "ForwarderRolePath=$forwarder_role_path")
    if [[ $dry_run -eq 1 ]]; then
        printf '%q ' "${cmd[@]}"
        printf '\n'
    else
        printf '==> %s\n' "$region" >&2
        "${cmd[@]}" || failed+=("$region")
    fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
    die "deploy failed in: ${failed[*]} (those regions forward nothing until it succeeds; rerun the script)"
fi
