/**
 * Which AWS requests each handler's code can make: a call graph over the project's own TypeScript,
 * made with the compiler API (one program, type-checked), rooted at a module and the exports its
 * process calls. The IAM proof (iam-actions.test.ts) grants from it; `npm run bench` builds each
 * function's floor from it: the SDK clients and commands its calls need, alone.
 *
 * Call-graph rules, which make the result per handler and per method:
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
 *   calls that send requests themselves: lib-storage Upload (PutObject for single and multipart uploads,
 *   AbortMultipartUpload on failure). Any other value imported from an AWS SDK or a Powertools module
 *   that calls AWS fails the test until it is modelled, and so does a call no request model covers.
 * - Slipway's one secret reader, readSecretString (lib/aws/secrets.ts), is a sink at each call: which
 *   secret it reads is its caller's (SECRET_READERS), so its body is not followed.
 * */
import { join, relative } from 'node:path';
import ts from 'typescript';

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
  '@aws-sdk/client-sts': 'sts',
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

/** One operation an SDK client sends: the module its command comes from, and its name (`UpdateService`). */
export interface SdkOperation {
  module: string;
  operation: string;
}

const sdk = (module: string, operations: string[]): SdkOperation[] =>
  operations.map((operation) => ({ module, operation }));

/** Library calls that send AWS requests themselves, with the SDK operations they send. */
const LIBRARY_CALLS: Record<string, Record<string, readonly SdkOperation[]>> = {};
const LIBRARY_CLASSES: Record<string, readonly SdkOperation[]> = {
  // Upload#done: PutObject, or Create/UploadPart/CompleteMultipartUpload (all s3:PutObject); abort on failure.
  Upload: sdk('@aws-sdk/client-s3', [
    'PutObject',
    'CreateMultipartUpload',
    'UploadPart',
    'CompleteMultipartUpload',
    'AbortMultipartUpload',
  ]),
};
const LIBRARY_METHODS: Record<string, Record<string, readonly SdkOperation[]>> = {};

/** Slipway's own functions that send a request themselves, taken as sinks where they are called. */
const OWN_SINKS: Record<string, Record<string, readonly SdkOperation[]>> = {
  'lib/aws/secrets.ts': { readSecretString: sdk('@aws-sdk/client-secrets-manager', ['GetSecretValue']) },
};

/** Values that may be imported from a module that can call AWS, beside clients, commands, paginators and errors. */
const MODELLED_IMPORTS: Record<string, readonly string[]> = {
  '@aws-sdk/lib-storage': ['Upload'],
};
const AWS_CALLING_MODULE = /^@aws-sdk\/|^@aws-lambda-powertools\/(parameters|idempotency)(\/|$)/;
const SDK_VALUE = /(Client|Command|Exception)$|^paginate[A-Z]/;

export interface Sink {
  action: string;
  /** What was seen: `new UpdateServiceCommand`, `readSecretString()`, … */
  via: string;
  /** repo-relative `file:line` of the call. */
  site: string;
  /** The SDK operation that sends the request (a library call sends several, one sink each). */
  sends: SdkOperation;
  /** The named function or method the call is written in. */
  method: string | undefined;
}

const sinkRules = {
  construct(module: string, name: string): readonly SdkOperation[] | undefined {
    if (module === '@aws-sdk/lib-storage') return LIBRARY_CLASSES[name];
    if (!name.endsWith('Command') || !SERVICE_PREFIX[module]) return undefined;
    return [{ module, operation: name.slice(0, -'Command'.length) }];
  },
  call(module: string, name: string): readonly SdkOperation[] | undefined {
    const paginator = /^paginate(.+)$/.exec(name);
    if (paginator?.[1]) return SERVICE_PREFIX[module] ? [{ module, operation: paginator[1] }] : undefined;
    return modelled(modelled(LIBRARY_CALLS, module), name);
  },
  method(className: string, method: string): readonly SdkOperation[] | undefined {
    return modelled(modelled(LIBRARY_METHODS, className), method);
  },
};

/** A table's own entry only: `Object.prototype.toString.call(x)` must not find Object's toString as a model. */
function modelled<T>(table: Record<string, T> | undefined, key: string): T | undefined {
  return table && Object.hasOwn(table, key) ? table[key] : undefined;
}

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

/** The call graph of the program rooted at `entries`; paths in its answers are relative to `root`. */
export function createCallGraph(entries: string[], root: string = process.cwd()) {
  const configPath = ts.findConfigFile(root, ts.sys.fileExists, 'tsconfig.json');
  if (!configPath) throw new Error(`no tsconfig.json in ${root}`);
  const { options } = ts.parseJsonConfigFileContent(
    ts.readConfigFile(configPath, ts.sys.readFile).config,
    ts.sys,
    root,
  );
  const program = ts.createProgram({ rootNames: entries, options: { ...options, noEmit: true } });
  const checker = program.getTypeChecker();

  const isOwnFile = (file: ts.SourceFile) => !file.isDeclarationFile && !file.fileName.includes('/node_modules/');
  const isOwn = (node: ts.Node) => isOwnFile(node.getSourceFile());
  const where = (node: ts.Node) => {
    const file = node.getSourceFile();
    return `${relative(root, file.fileName)}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  };
  /** The operations of one of OWN_SINKS, when `declaration` is it. */
  const ownSink = (declaration: ts.Node | undefined) =>
    declaration && ts.isFunctionDeclaration(declaration) && declaration.name && isOwn(declaration)
      ? OWN_SINKS[relative(root, declaration.getSourceFile().fileName)]?.[declaration.name.text]
      : undefined;
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
  /** The name of the nearest named function or method around a node. */
  function enclosingName(node: ts.Node): string | undefined {
    for (let current = node.parent; current; current = current.parent) {
      if (isFunctionLike(current) && current.name && ts.isIdentifier(current.name)) return current.name.text;
    }
    return undefined;
  }

  function sinksAt(node: ts.CallExpression | ts.NewExpression): Sink[] {
    const found = (operations: readonly SdkOperation[] | undefined, via: string): Sink[] =>
      (operations ?? []).flatMap((sends) =>
        (operationActions(sends.module, sends.operation) ?? []).map((action) => ({
          action,
          via,
          site: where(node),
          sends,
          method: enclosingName(node),
        })),
      );
    const callee = unwrap(node.expression);
    if (ts.isNewExpression(node)) {
      const imported = importOf(callee);
      return imported ? found(sinkRules.construct(imported.module, imported.name), `new ${imported.name}`) : [];
    }
    if (ts.isIdentifier(callee)) {
      const own = ownSink(resolved(checker.getSymbolAtLocation(callee))?.declarations?.[0]);
      if (own) return found(own, `${callee.text}()`);
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
      // An own sink's body is the request its callers make, found at their calls.
      if (ownSink(node)) return;
      if (ts.isCallExpression(node) || ts.isNewExpression(node)) sinks.push(...sinksAt(node));
      ts.forEachChild(node, walk);
    };
    for (const file of files) {
      const source = program.getSourceFile(join(root, file));
      if (source) walk(source);
    }
    return sinks;
  }

  /** Everything a process reaches that loads `entry` and calls the exports named (a handler module calls its own). */
  function analyse(entry: string, calledExports: string[] = []): { sinks: Sink[]; modules: string[] } {
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
      if (isOwn(declaration) && isFunctionLike(declaration) && declaration.body && !ownSink(declaration)) {
        enqueue(declaration);
      }
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
      modules.add(relative(root, file.fileName));
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
    const exported = checker.getSymbolAtLocation(entryFile);
    for (const name of calledExports) {
      const symbol = exported && checker.getExportsOfModule(exported).find((candidate) => candidate.name === name);
      const declaration = resolved(symbol)?.declarations?.find(isFunctionLike);
      if (!declaration) throw new Error(`${entry} exports no function ${name}`);
      markCalled(declaration);
    }
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
      const source = program.getSourceFile(join(root, file));
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
