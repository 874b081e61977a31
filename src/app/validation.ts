/**
 * Request validation: every offending field, at a bounded cost.
 *
 * Ajv's `allErrors` finds every problem but has no limit (Ajv and CodeQL both warn that it
 * lets one request allocate an error per array entry: a 16 MiB bulk body of bad entries is
 * millions). So each schema gets a fast validator that stops at the first error, and only a
 * request that fails is walked again: arrays entry by entry (each entry checked first with the
 * fast validator, so a long valid prefix costs nothing extra) and objects field by field,
 * with `allErrors` only on schemas without arrays or objects inside, until MAX_ISSUES.
 *
 * Bodies are JSON, so their types are never coerced (`"name": 5` is an error, not "5");
 * query strings and path parameters are text, so theirs are.
 */
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifySchema, FastifySchemaCompiler } from 'fastify';

/** Most issues collected for one request part; details shows at most DETAILS_LIMIT fields. */
const MAX_ISSUES = 300;

type Schema = Record<string, unknown>;
interface Ajvs {
  quick: Ajv;
  full: Ajv;
}

function ajvPair(coerceTypes: Options['coerceTypes']): Ajvs {
  const base: Options = { coerceTypes, useDefaults: true, removeAdditional: false, addUsedSchema: false };
  const quick = new Ajv({ ...base, allErrors: false });
  const full = new Ajv({ ...base, allErrors: true });
  addFormats.default(quick);
  addFormats.default(full);
  return { quick, full };
}

const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const isContainer = (s: unknown): s is Schema => isObject(s) && (s.type === 'array' || s.type === 'object');
const pointer = (key: string | number) => `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;

class Collector {
  readonly #ajvs: Ajvs;
  readonly #quick = new WeakMap<Schema, ValidateFunction>();
  readonly #full = new WeakMap<Schema, ValidateFunction>();
  readonly #shallow = new WeakMap<Schema, Schema>();

  constructor(ajvs: Ajvs) {
    this.#ajvs = ajvs;
  }

  quick(schema: Schema): ValidateFunction {
    let v = this.#quick.get(schema);
    if (!v) this.#quick.set(schema, (v = this.#ajvs.quick.compile(schema)));
    return v;
  }

  #fullOf(schema: Schema): ValidateFunction {
    let v = this.#full.get(schema);
    if (!v) this.#full.set(schema, (v = this.#ajvs.full.compile(schema)));
    return v;
  }

  /** The schema with its nested arrays and objects reduced to "anything": those are walked one by one. */
  #shallowOf(schema: Schema): Schema {
    let s = this.#shallow.get(schema);
    if (!s) {
      if (schema.type === 'array') {
        const { items: _items, ...rest } = schema;
        s = rest;
      } else {
        const properties = Object.fromEntries(Object.entries(schema.properties as Schema).map(([k, p]) => [k, isContainer(p) ? {} : p]));
        s = { ...schema, properties };
      }
      this.#shallow.set(schema, s);
    }
    return s;
  }

  #check(validate: ValidateFunction, data: unknown, path: string, out: ErrorObject[]): void {
    if (validate(data)) return;
    for (const e of validate.errors ?? []) {
      if (out.length >= MAX_ISSUES) return;
      out.push({ ...e, instancePath: path + e.instancePath });
    }
  }

  /** Append the problems of `data` under `path` to `out`, stopping at MAX_ISSUES. */
  collect(schema: Schema, data: unknown, path: string, out: ErrorObject[]): void {
    if (out.length >= MAX_ISSUES) return;
    if (schema.type === 'array' && isObject(schema.items) && Array.isArray(data)) {
      this.#check(this.#fullOf(this.#shallowOf(schema)), data, path, out);
      const item = schema.items;
      const itemOk = this.quick(item);
      for (let i = 0; i < data.length && out.length < MAX_ISSUES; i++) {
        if (!itemOk(data[i])) this.collect(item, data[i], path + pointer(i), out);
      }
      return;
    }
    if (schema.type === 'object' && isObject(schema.properties) && isObject(data)) {
      this.#check(this.#fullOf(this.#shallowOf(schema)), data, path, out);
      for (const [key, sub] of Object.entries(schema.properties)) {
        if (isContainer(sub) && key in data && !this.quick(sub)(data[key])) this.collect(sub, data[key], path + pointer(key), out);
      }
      return;
    }
    this.#check(this.#fullOf(schema), data, path, out);
  }
}

interface BoundedValidator {
  (data: unknown): boolean;
  errors: ErrorObject[] | null;
}

/** A Fastify validator (Ajv's calling convention): the fast check, and the bounded walk only when it fails. */
function validatorFor(collector: Collector, schema: Schema): BoundedValidator {
  const quick = collector.quick(schema);
  const validate: BoundedValidator = Object.assign(
    (data: unknown) => {
      if (quick(data)) return true;
      const issues: ErrorObject[] = [];
      collector.collect(schema, data, '', issues);
      validate.errors = issues.length > 0 ? issues : (quick.errors ?? []);
      return false;
    },
    { errors: null },
  );
  return validate;
}

/** What an /api/ route that declares no query parameters accepts: none (an unknown one is a 400, as on every other route). */
const NoQuery = { type: 'object', properties: {}, additionalProperties: false };

/** Install the compilers on an app (before its routes are added). */
export function registerValidation(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api/') && route.schema?.querystring === undefined) route.schema = { ...route.schema, querystring: NoQuery };
  });
  const json = new Collector(ajvPair(false));
  const text = new Collector(ajvPair('array'));
  const compiler: FastifySchemaCompiler<FastifySchema> = ({ schema, httpPart }) =>
    validatorFor(httpPart === 'body' ? json : text, schema as Schema);
  app.setValidatorCompiler(compiler);
}
