/**
 * IAM, proven: every function's role grants exactly the AWS actions its code can call.
 *
 * How the calls are found: a call graph over the project's own TypeScript, made with the compiler
 * API (one program over functions/**, type-checked), rooted at each handler module of the packaged
 * prod template. Bundling (esbuild's metafile, or the packaged zip, whose `keepNames` keeps every
 * `XxxCommand` name) is not precise enough: it drops unused modules, not unused methods, and most
 * handlers build a whole use case (`deployments()` constructs Deployments with its ECS, ECR, store
 * and publisher) of which they call one method, so at module level cancelDeployment "reaches" every
 * ECS call. The zip is still used below, as a cross-check that each command found is really shipped.
 *
 * The rules, which make the result per handler and per method:
 * - A module runs its top-level statements when loaded; loading follows value imports from the handler.
 * - A function body runs when a call resolves to it (checker.getResolvedSignature): direct calls,
 *   methods through a class type or Pick<Class, ...>, `new C()` (constructor and field initialisers).
 * - A closure, object-literal method or function value runs only when something it flowed into is
 *   called: its contextual type's signature (a typed parameter, property, return type or variable),
 *   followed through every typed slot a function value is later passed through; into a library
 *   (contextual type declared in node_modules) or an untyped slot, it counts as called at once.
 * - A call through an interface method also reaches the same-named method of every class constructed
 *   on the way whose instances are assignable to that interface.
 * - Sinks: `new XxxCommand()` of @aws-sdk/client-* and lib-dynamodb, `paginateXxx()`, and the library
 *   calls that send requests themselves: Powertools SecretsProvider#get (GetSecretValue),
 *   makeIdempotent (the DynamoDB persistence layer's Get/Put/Update/DeleteItem), lib-storage Upload
 *   (PutObject for single and multipart uploads, AbortMultipartUpload on failure). Any other value
 *   imported from an AWS SDK or a Powertools module that calls AWS fails the test until it is modelled.
 *
 * What that cannot see, and how it is handled, honestly:
 * - It is path-insensitive: a branch a function never takes for the values it passes is still
 *   reached. Those calls are listed per handler in INFEASIBLE_CALLS (iam-allowlist.ts) with the value
 *   that rules them out, kept ungranted; an entry that stops being reached, or gets granted, fails.
 * - The one value decided from data rather than listed: httpRoute reads the token source only for a
 *   route that is not public, so public routes (lib/http/api-routes.ts) need no tokens secret.
 * - Function values passed through `any`, reflection or string-keyed dispatch are not followed, nor a
 *   value re-typed by a cast. The guard: every request written in a loaded module must be reached by
 *   some handler (NOT_CALLED_BY_FUNCTIONS lists those another process makes); it found such a hole
 *   once (the registry webhook's secret, returned under one function type and called under another).
 *   A request one handler reaches and another misses would still go unseen.
 * - Actions, not ARNs, except where one action reaches different things here: GetSecretValue is
 *   checked per secret (tokens, Slack webhook, registry webhook, probe headers, dump credentials, by
 *   the file that reads it), iam:PassRole per iam:PassedToService, ecs:TagResource per
 *   ecs:CreateAction, kms:GenerateDataKey/Decrypt per key of the stack (the topic's, the bucket's).
 *   Other resources are template.test.ts's and worker.test.ts's.
 * - Actions Lambda itself needs for a function's configuration (logs, active tracing, the on-failure
 *   queue, the file system, the VPC's managed policy) are required from the template's own properties;
 *   actions AWS checks as part of another (KMS for the encrypted topic and bucket, tags, passed
 *   roles) are in IMPLIED_ACTIONS.
 * - The worker task's roles (resources/worker.yml) are not functions' and are not checked here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { apiRoutes } from '../../lib/http/api-routes';
import { type CloudFormationTemplate, packagedProd, readTemplate } from '../support/package';
import {
  CONFIGURATION_ACTIONS,
  IMPLIED_ACTIONS,
  INFEASIBLE_CALLS,
  NOT_CALLED_BY_FUNCTIONS,
  TOLERATED_GRANTS,
  VPC_ACCESS_POLICY,
} from './iam-allowlist';

const ROOT = process.cwd();

// ---------------------------------------------------------------------------------------------
// From an SDK command to its IAM action

const SERVICE_PREFIX: Record<string, string> = {
  '@aws-sdk/client-cloudwatch': 'cloudwatch',
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/client-ecr': 'ecr',
  '@aws-sdk/client-ecs': 'ecs',
  '@aws-sdk/client-lambda': 'lambda',
  '@aws-sdk/client-rds': 'rds',
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-secrets-manager': 'secretsmanager',
  '@aws-sdk/client-sns': 'sns',
  '@aws-sdk/client-sqs': 'sqs',
  '@aws-sdk/lib-dynamodb': 'dynamodb',
};

/** Operations whose IAM action is not `<prefix>:<Operation>`. */
const OPERATION_ACTIONS: Record<string, readonly string[]> = {
  // The document client's commands are the table operations underneath.
  'dynamodb:Get': ['dynamodb:GetItem'],
  'dynamodb:Put': ['dynamodb:PutItem'],
  'dynamodb:Update': ['dynamodb:UpdateItem'],
  'dynamodb:Delete': ['dynamodb:DeleteItem'],
  // HeadObject is authorised as GetObject; the code asks it whether a key is free, and without
  // ListBucket S3 answers 403 instead of 404 for a key that is not there.
  's3:HeadObject': ['s3:GetObject', 's3:ListBucket'],
  's3:HeadBucket': ['s3:ListBucket'],
  's3:ListObjectsV2': ['s3:ListBucket'],
  's3:DeleteObjects': ['s3:DeleteObject'],
  's3:CreateMultipartUpload': ['s3:PutObject'],
  's3:UploadPart': ['s3:PutObject'],
  's3:CompleteMultipartUpload': ['s3:PutObject'],
  'lambda:Invoke': ['lambda:InvokeFunction'],
};

function operationActions(module: string, operation: string): string[] | undefined {
  const prefix = SERVICE_PREFIX[module];
  if (!prefix) return undefined;
  const plain = `${prefix}:${operation}`;
  return [...(OPERATION_ACTIONS[plain] ?? [plain])];
}

/** Library calls that send AWS requests themselves. */
const LIBRARY_CALLS: Record<string, Record<string, readonly string[]>> = {
  '@aws-lambda-powertools/idempotency': {
    // DynamoDBPersistenceLayer: GetItemCommand, PutItemCommand, UpdateItemCommand, DeleteItemCommand.
    makeIdempotent: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  },
};
const LIBRARY_CLASSES: Record<string, readonly string[]> = {
  // Upload#done: PutObject, or Create/UploadPart/CompleteMultipartUpload (all s3:PutObject); abort on failure.
  Upload: ['s3:PutObject', 's3:AbortMultipartUpload'],
};
const LIBRARY_METHODS: Record<string, Record<string, readonly string[]>> = {
  SecretsProvider: { get: ['secretsmanager:GetSecretValue'] },
};

/** Values that may be imported from a module that can call AWS, beside clients, commands, paginators and errors. */
const MODELLED_IMPORTS: Record<string, readonly string[]> = {
  '@aws-sdk/lib-storage': ['Upload'],
  '@aws-lambda-powertools/parameters/secrets': ['SecretsProvider'],
  '@aws-lambda-powertools/idempotency': [
    'makeIdempotent',
    'IdempotencyConfig',
    'IdempotencyAlreadyInProgressError',
    'IdempotencyValidationError',
  ],
  '@aws-lambda-powertools/idempotency/dynamodb': ['DynamoDBPersistenceLayer'],
};
const AWS_CALLING_MODULE = /^@aws-sdk\/|^@aws-lambda-powertools\/(parameters|idempotency)(\/|$)/;
const SDK_VALUE = /(Client|Command|Exception)$|^paginate[A-Z]/;

interface Sink {
  action: string;
  /** What was seen: `new UpdateServiceCommand`, `SecretsProvider#get()`, … */
  via: string;
  /** repo-relative `file:line` of the call. */
  site: string;
}

const sinkRules = {
  construct(module: string, name: string): readonly string[] | undefined {
    if (module === '@aws-sdk/lib-storage') return LIBRARY_CLASSES[name];
    if (!name.endsWith('Command')) return undefined;
    return operationActions(module, name.slice(0, -'Command'.length));
  },
  call(module: string, name: string): readonly string[] | undefined {
    const paginator = /^paginate(.+)$/.exec(name);
    if (paginator?.[1]) return operationActions(module, paginator[1]);
    return LIBRARY_CALLS[module]?.[name];
  },
  method(className: string, method: string): readonly string[] | undefined {
    return LIBRARY_METHODS[className]?.[method];
  },
};

// ---------------------------------------------------------------------------------------------
// The call graph (rules in the header comment)

type FunctionLike = ts.FunctionLikeDeclaration;
type Slots = Set<ts.Node> | 'library' | 'unknown' | 'none';

const FUNCTION_KINDS = new Set([
  ts.SyntaxKind.FunctionDeclaration,
  ts.SyntaxKind.FunctionExpression,
  ts.SyntaxKind.ArrowFunction,
  ts.SyntaxKind.MethodDeclaration,
  ts.SyntaxKind.GetAccessor,
  ts.SyntaxKind.SetAccessor,
  ts.SyntaxKind.Constructor,
]);
const isFunctionLike = (node: ts.Node): node is FunctionLike => FUNCTION_KINDS.has(node.kind);
const isWrapper = (node: ts.Node) =>
  ts.isParenthesizedExpression(node) ||
  ts.isAsExpression(node) ||
  ts.isSatisfiesExpression(node) ||
  ts.isTypeAssertionExpression(node) ||
  ts.isNonNullExpression(node);

function unwrap(expression: ts.Expression): ts.Expression {
  let current = expression;
  while (isWrapper(current)) current = (current as ts.ParenthesizedExpression).expression;
  return current;
}

function outer(node: ts.Node): ts.Node {
  let current = node.parent;
  while (current && isWrapper(current)) current = current.parent;
  return current;
}

function isTypeOnlyImport(statement: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(statement)) return statement.isTypeOnly;
  const clause = statement.importClause;
  if (!clause) return false;
  if (clause.isTypeOnly) return true;
  const bindings = clause.namedBindings;
  return (
    !clause.name &&
    bindings !== undefined &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((element) => element.isTypeOnly)
  );
}

function createCallGraph(entries: string[]) {
  const configPath = ts.findConfigFile(ROOT, ts.sys.fileExists, 'tsconfig.json');
  if (!configPath) throw new Error(`no tsconfig.json in ${ROOT}`);
  const { options } = ts.parseJsonConfigFileContent(
    ts.readConfigFile(configPath, ts.sys.readFile).config,
    ts.sys,
    ROOT,
  );
  const program = ts.createProgram({ rootNames: entries, options: { ...options, noEmit: true } });
  const checker = program.getTypeChecker();

  const isOwnFile = (file: ts.SourceFile) => !file.isDeclarationFile && !file.fileName.includes('/node_modules/');
  const isOwn = (node: ts.Node) => isOwnFile(node.getSourceFile());
  const where = (node: ts.Node) => {
    const file = node.getSourceFile();
    return `${relative(ROOT, file.fileName)}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  };
  const resolved = (symbol: ts.Symbol | undefined) =>
    symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;

  /** The module and exported name an identifier was imported as. */
  function importOf(identifier: ts.Node): { module: string; name: string } | undefined {
    const symbol = checker.getSymbolAtLocation(identifier);
    const declaration = symbol?.declarations?.[0];
    if (!symbol || !declaration || !(symbol.flags & ts.SymbolFlags.Alias)) return undefined;
    if (!ts.isImportSpecifier(declaration)) return undefined;
    return {
      module: (declaration.parent.parent.parent.moduleSpecifier as ts.StringLiteral).text,
      name: (declaration.propertyName ?? declaration.name).text,
    };
  }

  /** The declarations of a function type's call signatures: the slots a call through it resolves to. */
  function signatureDeclarations(type: ts.Type): Slots {
    const slots = new Set<ts.Node>();
    for (const part of type.isUnion() ? type.types : [type]) {
      if (part.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null | ts.TypeFlags.Void)) continue;
      const signatures = part.getCallSignatures();
      if (signatures.length === 0) return 'unknown';
      for (const signature of signatures) {
        if (!signature.declaration) return 'unknown';
        if (!isOwn(signature.declaration)) return 'library';
        slots.add(signature.declaration);
      }
    }
    return slots;
  }

  /** The member `name` of a contextually typed object literal: its declarations and call signatures. */
  function memberSlots(literal: ts.ObjectLiteralExpression, name: string, at: ts.Node): Slots {
    const objectType = checker.getContextualType(literal);
    const members = (objectType ? (objectType.isUnion() ? objectType.types : [objectType]) : [])
      .map((part) => checker.getPropertyOfType(part, name))
      .filter((member): member is ts.Symbol => member !== undefined);
    if (members.length === 0) return 'none';
    const slots = new Set<ts.Node>();
    for (const member of members) {
      for (const declaration of member.declarations ?? []) {
        if (!isOwn(declaration)) return 'library';
        slots.add(declaration);
      }
      const signatures = signatureDeclarations(checker.getTypeOfSymbolAtLocation(member, at));
      if (typeof signatures === 'string') return signatures;
      for (const signature of signatures) slots.add(signature);
    }
    return slots;
  }

  /** Where a value at `expression` goes: its contextual type's signatures (and object member). */
  function slotsAt(expression: ts.Expression): Slots {
    const contextual = checker.getContextualType(expression);
    if (!contextual) return 'none';
    const slots = signatureDeclarations(contextual);
    if (typeof slots === 'string') return slots;
    const parent = outer(expression);
    if (ts.isPropertyAssignment(parent) && ts.isObjectLiteralExpression(parent.parent)) {
      const members = memberSlots(parent.parent, parent.name.getText(), expression);
      if (typeof members !== 'string') for (const member of members) slots.add(member);
    }
    return slots;
  }

  const isCallee = (node: ts.Node) => {
    const parent = outer(node);
    return (ts.isCallExpression(parent) || ts.isNewExpression(parent)) && unwrap(parent.expression) === node;
  };

  /** An identifier that is an expression, not a declared name or a property name. */
  const isValue = (node: ts.Identifier) => {
    const parent = node.parent as ts.Node & { name?: ts.Node; propertyName?: ts.Node };
    if (ts.isPropertyAccessExpression(parent)) return parent.expression === node;
    if (ts.isQualifiedName(parent)) return false;
    return parent.name !== node && parent.propertyName !== node;
  };

  const isStatic = (member: ts.ClassElement) =>
    (ts.getCombinedModifierFlags(member as unknown as ts.Declaration) & ts.ModifierFlags.Static) !== 0;

  /** The AWS requests a call or `new` sends, by the sink rules. */
  function sinksAt(node: ts.CallExpression | ts.NewExpression): Sink[] {
    const found = (actions: readonly string[] | undefined, via: string) =>
      (actions ?? []).map((action) => ({ action, via, site: where(node) }));
    const callee = unwrap(node.expression);
    if (ts.isNewExpression(node)) {
      const imported = importOf(callee);
      return imported ? found(sinkRules.construct(imported.module, imported.name), `new ${imported.name}`) : [];
    }
    if (ts.isIdentifier(callee)) {
      const imported = importOf(callee);
      return imported ? found(sinkRules.call(imported.module, imported.name), `${imported.name}()`) : [];
    }
    if (!ts.isPropertyAccessExpression(callee)) return [];
    const receiver = checker.getTypeAtLocation(callee.expression);
    const symbol = receiver.getSymbol() ?? receiver.aliasSymbol;
    const declared = symbol?.declarations?.[0];
    if (!symbol || !declared || isOwn(declared)) return [];
    return found(sinkRules.method(symbol.getName(), callee.name.text), `${symbol.getName()}#${callee.name.text}()`);
  }

  /** Every AWS request written anywhere in these files, reached or not. */
  function allSinks(files: string[]): Sink[] {
    const sinks: Sink[] = [];
    const walk = (node: ts.Node): void => {
      if (ts.isCallExpression(node) || ts.isNewExpression(node)) sinks.push(...sinksAt(node));
      ts.forEachChild(node, walk);
    };
    for (const file of files) {
      const source = program.getSourceFile(join(ROOT, file));
      if (source) walk(source);
    }
    return sinks;
  }

  function analyse(entry: string): { sinks: Sink[]; modules: string[] } {
    const entryFile = program.getSourceFile(entry);
    if (!entryFile) throw new Error(`${entry} is not in the program`);
    const reached = new Set<ts.Node>();
    const queue: ts.Node[] = [];
    const sinks: Sink[] = [];
    const called = new Set<ts.Node>();
    const aliases = new Map<ts.Node, Set<ts.Node>>();
    const constructed = new Set<ts.ClassLikeDeclaration>();
    const calledMembers = new Set<ts.MethodSignature>();
    const modules = new Set<string>();

    const enqueue = (node: ts.Node) => {
      if (reached.has(node)) return;
      reached.add(node);
      queue.push(node);
    };

    /** A signature is called: its body runs, and so does every value that flowed into it. */
    function markCalled(declaration: ts.Node) {
      if (called.has(declaration)) return;
      called.add(declaration);
      if (isOwn(declaration) && isFunctionLike(declaration) && declaration.body) enqueue(declaration);
      if (ts.isMethodSignature(declaration)) calledMembers.add(declaration);
      for (const source of aliases.get(declaration) ?? []) markCalled(source);
    }

    /** Values of `source` flow into `target`: calling target may call them. */
    function alias(target: ts.Node, source: ts.Node) {
      if (target === source) return;
      const sources = aliases.get(target) ?? new Set<ts.Node>();
      aliases.set(target, sources);
      sources.add(source);
      if (called.has(target)) markCalled(source);
    }

    function into(target: Slots, sources: Iterable<ts.Node>) {
      if (target === 'none') return;
      for (const source of sources) {
        if (target === 'library' || target === 'unknown') markCalled(source);
        else for (const slot of target) alias(slot, source);
      }
    }

    /** A function-typed value used somewhere typed flows there. */
    function flow(expression: ts.Expression) {
      if (isCallee(expression)) return;
      const target = slotsAt(expression);
      if (target === 'none') return;
      const sources = signatureDeclarations(checker.getTypeAtLocation(expression));
      if (typeof sources !== 'string') into(target, sources);
    }

    /** A closure written inline: it runs once what it flows into is called. */
    function closure(node: FunctionLike) {
      if (ts.isFunctionDeclaration(node) || ts.isConstructorDeclaration(node) || ts.isClassLike(node.parent)) return;
      const parent = outer(node);
      if ((ts.isVariableDeclaration(parent) || ts.isPropertyDeclaration(parent)) && parent.initializer) return;
      let slots: Slots;
      if (ts.isObjectLiteralExpression(node.parent)) {
        slots = memberSlots(node.parent, (node.name as ts.PropertyName).getText(), node);
        if (slots === 'none') slots = 'unknown';
      } else {
        slots = slotsAt(node as ts.Expression);
      }
      if (slots === 'library' || slots === 'unknown') enqueue(node);
      else into(slots, [node]);
    }

    function construct(declaration: ts.ClassLikeDeclaration) {
      if (constructed.has(declaration)) return;
      constructed.add(declaration);
      enqueue(declaration);
    }

    function call(node: ts.CallExpression | ts.NewExpression) {
      const declaration = checker.getResolvedSignature(node)?.declaration;
      if (declaration) markCalled(declaration);
      const callee = unwrap(node.expression);
      if (ts.isNewExpression(node)) {
        for (const found of resolved(checker.getSymbolAtLocation(callee))?.declarations ?? []) {
          if (ts.isClassLike(found) && isOwn(found)) construct(found);
        }
      } else if (ts.isPropertyAccessExpression(callee) && ['call', 'apply', 'bind'].includes(callee.name.text)) {
        // fn.call / fn.apply / fn.bind: the function itself runs.
        const own = signatureDeclarations(checker.getTypeAtLocation(callee.expression));
        if (typeof own !== 'string') for (const signature of own) markCalled(signature);
      }
      sinks.push(...sinksAt(node));
    }

    function visit(node: ts.Node): void {
      if (ts.isTypeNode(node) && !ts.isExpressionWithTypeArguments(node)) return;
      if (
        ts.isInterfaceDeclaration(node) ||
        ts.isTypeAliasDeclaration(node) ||
        ts.isImportDeclaration(node) ||
        ts.isExportDeclaration(node)
      ) {
        return;
      }
      if (isFunctionLike(node)) {
        closure(node);
        return;
      }
      if (ts.isClassLike(node)) {
        visitStatics(node);
        return;
      }
      if (ts.isShorthandPropertyAssignment(node)) {
        const symbol = resolved(checker.getShorthandAssignmentValueSymbol(node));
        const sources = symbol && signatureDeclarations(checker.getTypeOfSymbolAtLocation(symbol, node));
        if (sources && typeof sources !== 'string') {
          into(memberSlots(node.parent as ts.ObjectLiteralExpression, node.name.text, node), sources);
        }
        return;
      }
      if (ts.isPropertyAccessExpression(node)) {
        // A getter or setter runs when its property is read or written.
        for (const declaration of checker.getSymbolAtLocation(node.name)?.declarations ?? []) {
          if ((ts.isGetAccessor(declaration) || ts.isSetAccessor(declaration)) && isOwn(declaration)) {
            enqueue(declaration);
          }
        }
      }
      if (
        (ts.isIdentifier(node) && isValue(node)) ||
        ts.isPropertyAccessExpression(node) ||
        ts.isElementAccessExpression(node) ||
        ts.isCallExpression(node) ||
        ts.isAwaitExpression(node)
      ) {
        flow(node);
      }
      if (ts.isCallExpression(node) || ts.isNewExpression(node)) call(node);
      if (!ts.isIdentifier(node)) ts.forEachChild(node, visit);
    }

    function visitStatics(declaration: ts.ClassLikeDeclaration) {
      for (const member of declaration.members) {
        if (ts.isPropertyDeclaration(member) && isStatic(member) && member.initializer) visit(member.initializer);
        if (ts.isClassStaticBlockDeclaration(member)) visit(member.body);
      }
    }

    function visitConstruction(declaration: ts.ClassLikeDeclaration) {
      for (const member of declaration.members) {
        if (ts.isPropertyDeclaration(member) && !isStatic(member) && member.initializer) visit(member.initializer);
        if (ts.isConstructorDeclaration(member) && member.body) enqueue(member);
      }
      const base = declaration.heritageClauses?.find((clause) => clause.token === ts.SyntaxKind.ExtendsKeyword)
        ?.types[0];
      for (const found of base ? (resolved(checker.getSymbolAtLocation(base.expression))?.declarations ?? []) : []) {
        if (ts.isClassLike(found) && isOwn(found)) construct(found);
      }
    }

    function visitModule(file: ts.SourceFile) {
      modules.add(relative(ROOT, file.fileName));
      for (const statement of file.statements) {
        if (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) {
          if (!statement.moduleSpecifier || isTypeOnlyImport(statement)) continue;
          const target = resolved(checker.getSymbolAtLocation(statement.moduleSpecifier));
          const targetFile = target?.declarations?.find(ts.isSourceFile);
          if (targetFile && isOwnFile(targetFile)) enqueue(targetFile);
          continue;
        }
        if (ts.isFunctionDeclaration(statement)) continue;
        if (ts.isClassDeclaration(statement)) visitStatics(statement);
        else visit(statement);
      }
    }

    /** Interface methods called here, on objects of a class constructed here: that class's method. */
    function dispatch() {
      for (const member of calledMembers) {
        const owner = member.parent;
        const ownerType = checker.getTypeAtLocation(owner);
        const name = member.name.getText();
        for (const declaration of constructed) {
          const method = declaration.members.find(
            (candidate) => ts.isMethodDeclaration(candidate) && candidate.name.getText() === name,
          );
          if (
            method &&
            !reached.has(method) &&
            checker.isTypeAssignableTo(checker.getTypeAtLocation(declaration), ownerType)
          ) {
            enqueue(method);
          }
        }
      }
    }

    enqueue(entryFile);
    do {
      while (queue.length > 0) {
        const unit = queue.shift() as ts.Node;
        if (ts.isSourceFile(unit)) visitModule(unit);
        else if (ts.isClassLike(unit)) visitConstruction(unit);
        else if (isFunctionLike(unit)) {
          for (const parameter of unit.parameters) if (parameter.initializer) visit(parameter.initializer);
          if (unit.body) visit(unit.body);
        }
      }
      dispatch();
    } while (queue.length > 0);

    return { sinks, modules: [...modules].sort() };
  }

  /** Value imports from modules that can call AWS that no sink rule models. */
  function unmodelledImports(files: string[]): string[] {
    const found: string[] = [];
    for (const file of files) {
      const source = program.getSourceFile(join(ROOT, file));
      for (const statement of source?.statements ?? []) {
        if (!ts.isImportDeclaration(statement) || isTypeOnlyImport(statement)) continue;
        const module = (statement.moduleSpecifier as ts.StringLiteral).text;
        if (!AWS_CALLING_MODULE.test(module)) continue;
        const clause = statement.importClause;
        const bindings = clause?.namedBindings;
        if (!clause || clause.name || !bindings || !ts.isNamedImports(bindings)) {
          found.push(`${file}: a default, namespace or bare import of ${module}`);
          continue;
        }
        for (const element of bindings.elements) {
          const name = (element.propertyName ?? element.name).text;
          if (element.isTypeOnly || SDK_VALUE.test(name) || MODELLED_IMPORTS[module]?.includes(name)) continue;
          found.push(`${file}: ${name} from ${module}`);
        }
      }
    }
    return found;
  }

  return { analyse, allSinks, unmodelledImports };
}

// ---------------------------------------------------------------------------------------------
// The packaged template

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

interface FunctionUnderTest {
  logicalId: string;
  /** serverless.yml's name for it, which is also its route's name when it serves one. */
  name: string;
  /** Repo-relative handler module, e.g. functions/http/get-health.ts */
  handler: string;
  role: string;
  properties: Record<string, unknown>;
}

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const NO_SECRET = 'arn:aws:secretsmanager:none:000000000000:secret:none';

/** Which secret a GetSecretValue reads, by the file that reads it. */
const SECRET_READERS: Record<string, string> = {
  'lib/auth/token-source.ts': 'tokens',
  'lib/notify/notifications.ts': 'slack',
  'lib/runtime/releases.ts': 'webhook',
  'lib/runtime/health.ts': 'probe',
  'lib/worker/runtime.ts': 'worker',
};

let dir: string;
let owned = false;
let template: CloudFormationTemplate;
let slipway: Record<string, unknown>;
let functions: FunctionUnderTest[];
let graph: ReturnType<typeof createCallGraph>;
const analyses = new Map<string, { sinks: Sink[]; modules: string[] }>();

beforeAll(async () => {
  ({ dir, owned } = await packagedProd());
  template = readTemplate(dir);
  // serverless.yml's custom.slipway as packaging resolved it: the secret ARNs each statement names.
  slipway = JSON.parse(readFileSync(join(dir, 'serverless-state.json'), 'utf8')).service.custom.slipway;
  const names = new Map(
    Object.keys(JSON.parse(readFileSync(join(dir, 'serverless-state.json'), 'utf8')).service.functions).map((name) => [
      `${name.charAt(0).toUpperCase()}${name.slice(1)}LambdaFunction`,
      name,
    ]),
  );
  functions = Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
    .map(([logicalId, resource]) => {
      const properties = resource.Properties ?? {};
      const role = (properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      return {
        logicalId,
        name: names.get(logicalId) ?? logicalId,
        handler: `${String(properties.Handler).replace(/\.[^.]+$/, '')}.ts`,
        role,
        properties,
      };
    });
  graph = createCallGraph([...new Set(functions.map((fn) => join(ROOT, fn.handler)))]);
  for (const handler of new Set(functions.map((fn) => fn.handler))) {
    analyses.set(handler, graph.analyse(join(ROOT, handler)));
  }
});

afterAll(() => {
  if (dir && owned) rmSync(dir, { recursive: true, force: true });
});

function statementsOf(role: string): Statement[] {
  const policies = (template.Resources[role]?.Properties?.Policies ?? []) as Array<{
    PolicyDocument: { Statement: Statement[] };
  }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

/** The ARNs each secret's statement names (the placeholder where config has none). */
function secretArns(kind: string): unknown[] {
  const key = {
    tokens: 'tokensSecretArn',
    slack: 'slackSecretArn',
    webhook: 'webhookSecretArn',
    probe: 'probeSecretArns',
    worker: 'workerSecretArns',
  }[kind];
  if (!key) throw new Error(`no secret kind ${kind}`);
  return list(slipway[key]);
}

/** The stack's own KMS keys the topic and the backup bucket encrypt with, by logical id. */
function stackKeys(): { topic: string | undefined; bucket: string | undefined } {
  const keyOf = (value: unknown) =>
    (value as { Ref?: string } | undefined)?.Ref ??
    (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
  const encryption = template.Resources.BackupBucket?.Properties?.BucketEncryption as
    | { ServerSideEncryptionConfiguration?: Array<{ ServerSideEncryptionByDefault?: { KMSMasterKeyID?: unknown } }> }
    | undefined;
  return {
    topic: keyOf(template.Resources.NotificationsTopic?.Properties?.KmsMasterKeyId),
    bucket: keyOf(encryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault?.KMSMasterKeyID),
  };
}

const conditionValue = (statement: Statement, key: string) =>
  Object.values(statement.Condition ?? {}).flatMap((condition) => list(condition[key] as string | string[]));

/** What a role grants, as the same qualified actions the code is described with. */
function grantsOf(role: string): Map<string, string[]> {
  const grants = new Map<string, string[]>();
  const add = (key: string, from: string) => grants.set(key, [...(grants.get(key) ?? []), from]);
  for (const statement of statementsOf(role)) {
    if (statement.Effect !== 'Allow') continue;
    for (const action of list(statement.Action)) {
      if (action === 'secretsmanager:GetSecretValue') {
        for (const resource of list(statement.Resource)) {
          // The placeholder matches every secret config leaves unset: it is none of them.
          const kinds = same(resource, NO_SECRET)
            ? []
            : Object.values(SECRET_READERS).filter((kind) => secretArns(kind).some((arn) => same(arn, resource)));
          if (same(resource, NO_SECRET)) add(`${action} (none configured)`, JSON.stringify(resource));
          else if (kinds.length === 0) add(`${action} (${JSON.stringify(resource)})`, JSON.stringify(resource));
          for (const kind of kinds) add(`${action} (${kind})`, JSON.stringify(resource));
        }
      } else if (action === 'iam:PassRole') {
        const services = conditionValue(statement, 'iam:PassedToService');
        for (const service of services.length > 0 ? services : ['any service']) add(`${action} (${service})`, role);
      } else if (action === 'kms:GenerateDataKey' || action === 'kms:Decrypt') {
        // Per key of the stack (the topic's, the bucket's); a key named by ARN stays plain.
        for (const resource of list(statement.Resource)) {
          const key = (resource as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
          add(key ? `${action} (${key})` : action, role);
        }
      } else if (action === 'ecs:TagResource') {
        const creates = conditionValue(statement, 'ecs:CreateAction');
        for (const create of creates.length > 0 ? creates : ['any action']) add(`${action} (${create})`, role);
      } else {
        add(action, role);
      }
    }
  }
  return grants;
}

interface Needs {
  /** Qualified action → why (call sites, or what configuration or call implies it). */
  required: Map<string, string[]>;
  /** Granted without being required, and fine: a secret config leaves unset (the placeholder). */
  allowed: Set<string>;
  /** Reached by the call graph, infeasible by data (INFEASIBLE_CALLS), with the sites. */
  infeasible: Map<string, string[]>;
}

function needsOf(fn: FunctionUnderTest): Needs {
  const required = new Map<string, string[]>();
  const allowed = new Set<string>();
  const infeasible = new Map<string, string[]>();
  const skip = INFEASIBLE_CALLS[fn.handler] ?? {};
  const need = (key: string, why: string) => {
    if (key in skip) infeasible.set(key, [...(infeasible.get(key) ?? []), why]);
    else required.set(key, [...(required.get(key) ?? []), why]);
  };
  const route = (apiRoutes as Record<string, { access: string }>)[fn.name];
  for (const { action, via, site } of analyses.get(fn.handler)?.sinks ?? []) {
    let key = action;
    if (action === 'secretsmanager:GetSecretValue') {
      const file = site.replace(/:\d+$/, '');
      const kind = SECRET_READERS[file];
      if (!kind) throw new Error(`${site} reads a secret no entry of SECRET_READERS names: say which one it is`);
      // httpRoute reads the token source only for a route that is not public.
      if (kind === 'tokens' && route?.access === 'public') continue;
      key = `${action} (${kind})`;
      const configured = secretArns(kind).filter((arn) => !same(arn, NO_SECRET));
      // A secret config does not name is never read: the code checks for it first.
      if (configured.length === 0) {
        allowed.add(`${action} (none configured)`);
        continue;
      }
    }
    need(key, `${via} at ${site}`);
    for (const implied of IMPLIED_ACTIONS[action] ?? []) {
      const key = implied.replace(
        /\((topic|bucket) key\)$/,
        (_, which: 'topic' | 'bucket') => `(${stackKeys()[which]})`,
      );
      if (!key.endsWith('(undefined)')) need(key, `${action} (${site})`);
    }
  }
  const props = fn.properties;
  for (const action of CONFIGURATION_ACTIONS.always) need(action, 'a function writes its logs');
  if ((props.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active') {
    for (const action of CONFIGURATION_ACTIONS.activeTracing) need(action, 'TracingConfig Active');
  }
  const invokeConfig = Object.values(template.Resources).find(
    (resource) =>
      resource.Type === 'AWS::Lambda::EventInvokeConfig' &&
      same(resource.Properties?.FunctionName, { Ref: fn.logicalId }),
  );
  if (
    JSON.stringify(
      (invokeConfig?.Properties?.DestinationConfig as { OnFailure?: unknown } | undefined)?.OnFailure ?? '',
    ).includes('DeadLetterQueue')
  ) {
    for (const action of CONFIGURATION_ACTIONS.onFailureQueue) need(action, 'on-failure destination');
  }
  if (props.FileSystemConfigs) {
    for (const action of CONFIGURATION_ACTIONS.fileSystem) need(action, 'FileSystemConfigs');
  }
  return { required, allowed, infeasible };
}

// ---------------------------------------------------------------------------------------------

describe('IAM of the packaged prod template, against the calls each function can make', () => {
  it('finds every function and models every AWS-calling import their code loads', () => {
    // Given every function of the template, and the modules their handlers load
    expect(functions.length).toBeGreaterThan(30);
    const modules = [...new Set([...analyses.values()].flatMap((analysis) => analysis.modules))];

    // Then no module imports a way of calling AWS the sink rules do not know
    expect(graph.unmodelledImports(modules)).toEqual([]);
    // And the call graph finds calls at all (a broken resolution would find none and grant nothing)
    expect(analyses.get('functions/http/create-deployment.ts')?.sinks.map((sink) => sink.action)).toEqual(
      expect.arrayContaining(['ecs:UpdateService', 'ecs:RegisterTaskDefinition', 'secretsmanager:GetSecretValue']),
    );
  });

  it('reaches every AWS request the loaded modules write from some handler, but those no function makes', () => {
    // Given every request written in a module some handler loads, reached or not
    const modules = [...new Set([...analyses.values()].flatMap((analysis) => analysis.modules))];
    const reached = new Set([...analyses.values()].flatMap((analysis) => analysis.sinks.map((sink) => sink.site)));

    // Then each is reached from a handler (a miss is a hole in the call graph, or code only the
    // worker task, the CLI or `npm start` runs), and the list of the latter is exact
    const unreached = new Set(
      graph
        .allSinks(modules)
        .filter((sink) => !reached.has(sink.site))
        .map((sink) => sink.site.replace(/:\d+$/, '')),
    );
    expect([...unreached].sort()).toEqual(Object.keys(NOT_CALLED_BY_FUNCTIONS).sort());
  });

  it('ships every command it found in the function’s own zip', () => {
    for (const fn of functions) {
      const bundle = execFileSync('unzip', ['-p', join(dir, `${fn.name}.zip`), fn.handler.replace(/\.ts$/, '.js')], {
        encoding: 'utf8',
        maxBuffer: 128 * 1024 * 1024,
      });
      const commands = [
        ...new Set(
          (analyses.get(fn.handler)?.sinks ?? [])
            .map((sink) => /^new (\w+Command)$/.exec(sink.via)?.[1])
            .filter((name): name is string => name !== undefined),
        ),
      ];
      // keepNames keeps each class's name in the minified bundle.
      const missing = commands.filter((name) => !bundle.includes(`"${name}"`));
      expect({ function: fn.name, missing }).toEqual({ function: fn.name, missing: [] });
    }
  });

  it('grants each function every action its code and configuration need, and nothing else', () => {
    const mismatches: Array<Record<string, unknown>> = [];
    for (const fn of functions) {
      // Given what the function's code and configuration need, and what its role grants
      const { required, allowed, infeasible } = needsOf(fn);
      const grants = grantsOf(fn.role);

      // Then every need is granted (nothing fails with AccessDenied in AWS)
      const missing = [...required.keys()].filter((key) => !grants.has(key)).sort();
      // And every grant is needed (no excess), but for what is tolerated
      const excess = [...grants.keys()]
        .filter((key) => !required.has(key) && !allowed.has(key) && !TOLERATED_GRANTS.has(key))
        .sort();
      // And every infeasible call listed is still reached, and still not granted
      const listed = Object.keys(INFEASIBLE_CALLS[fn.handler] ?? {});
      const stale = listed.filter((key) => !infeasible.has(key) || grants.has(key));
      if (missing.length + excess.length + stale.length > 0) {
        mismatches.push({
          function: fn.name,
          role: fn.role,
          ...(missing.length ? { missing: missing.map((key) => `${key} ← ${required.get(key)?.join('; ')}`) } : {}),
          ...(excess.length ? { excess } : {}),
          ...(stale.length ? { staleInfeasibleEntries: stale } : {}),
        });
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('lists infeasible calls only for handlers the template has', () => {
    const handlers = new Set(functions.map((fn) => fn.handler));
    expect(Object.keys(INFEASIBLE_CALLS).filter((handler) => !handlers.has(handler))).toEqual([]);
  });

  it('gives a role no managed policy but the VPC access policy, and that only to a function in a VPC', () => {
    for (const fn of functions) {
      const managed = list(template.Resources[fn.role]?.Properties?.ManagedPolicyArns as unknown[]).map((arn) =>
        JSON.stringify(arn),
      );
      const expected = fn.properties.VpcConfig ? [VPC_ACCESS_POLICY] : [];
      expect({
        function: fn.name,
        managed: managed.map((arn) => (arn.includes(VPC_ACCESS_POLICY) ? VPC_ACCESS_POLICY : arn)),
      }).toEqual({
        function: fn.name,
        managed: expected,
      });
    }
  });

  it('leaves a role nothing refers to without any permission', () => {
    // Given the roles no other resource of the template names (serverless's shared function role)
    const unreferenced = Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
      .map(([logicalId]) => logicalId)
      .filter((logicalId) =>
        Object.entries(template.Resources).every(
          ([other, resource]) => other === logicalId || !JSON.stringify(resource).includes(`"${logicalId}"`),
        ),
      );
    expect(unreferenced).toContain('IamRoleLambdaExecution');
    // Then none can do anything, should it ever be handed to a function
    for (const role of unreferenced) {
      const properties = template.Resources[role]?.Properties ?? {};
      expect({
        role,
        statements: statementsOf(role),
        managed: list(properties.ManagedPolicyArns as unknown[]),
      }).toEqual({ role, statements: [], managed: [] });
    }
  });

  it('passes roles only to ECS tasks or RDS exports, and only the roles each may pass', () => {
    const roles = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::IAM::Role');
    const workerRoles = ['WorkerTaskRole', 'WorkerExecutionRole'].map((role) => ({
      'Fn::If': ['WorkerEnabled', { 'Fn::GetAtt': [role, 'Arn'] }, 'arn:aws:iam::000000000000:role/slipway-none'],
    }));
    // A copied task definition keeps the app's own task and execution roles: those config names (passRoles),
    // or, where an environment names none, any role of this account; passed to ECS tasks only.
    const taskRoles = list(slipway.taskRoleArns);
    const exportRoles = list(slipway.exportRoleArns);
    let passes = 0;
    for (const [role] of roles) {
      for (const statement of statementsOf(role).filter((s) => list(s.Action).includes('iam:PassRole'))) {
        passes += 1;
        // Given a statement that lets the role pass roles
        expect(list(statement.Action)).toEqual(['iam:PassRole']);
        expect(Object.keys(statement.Condition ?? {})).toEqual(['StringEquals']);
        const service = statement.Condition?.StringEquals?.['iam:PassedToService'];
        // Then it names one service, and exactly the roles that service may be given
        const allowed: Record<string, unknown[][]> = {
          'ecs-tasks.amazonaws.com': [workerRoles, taskRoles],
          'export.rds.amazonaws.com': [exportRoles],
        };
        expect(Object.keys(allowed)).toContain(service);
        expect(allowed[service as string]?.some((resources) => same(list(statement.Resource), resources))).toBe(true);
        expect(list(statement.Resource)).not.toContain('*');
      }
    }
    expect(passes).toBeGreaterThan(0);
  });
});
