// A function's IAM statement whose Resource config leaves empty (no lifecycle hook roles, no restore
// keys) grants nothing, and IAM refuses a statement without a resource: it is left out of the role.
class UnscopedStatements {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { initialize: () => this.dropStatements() };
  }

  dropStatements() {
    for (const fn of Object.values(this.serverless.service.functions ?? {})) {
      if (!Array.isArray(fn.iamRoleStatements)) continue;
      fn.iamRoleStatements = fn.iamRoleStatements.filter(
        (statement) => !(Array.isArray(statement.Resource) && statement.Resource.length === 0),
      );
    }
  }
}

module.exports = UnscopedStatements;
