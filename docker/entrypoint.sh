#!/bin/sh
# Re-index the knowledge folder (incremental: only changed files are embedded), then serve.
set -e
policyqa index /app/knowledge --out /var/lib/policyqa/index --quiet || {
  echo "知识库中有错误的文件（见上），其余文件已索引" >&2
}
exec policyqa serve --index /var/lib/policyqa/index --host 0.0.0.0 --port "${PORT:-8000}" \
  --workers "${WORKERS:-2}"
