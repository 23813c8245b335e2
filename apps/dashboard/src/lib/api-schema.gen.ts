// Generated from the admin API's OpenAPI document by openapi-typescript: do not edit.
// After changing a schema of apps/api, run `npm run types:dashboard -w @gatehouse/api`
// (apps/api/src/docs/dashboard-types.spec.ts fails while this file is stale).

export interface paths {
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness, and whether the token service answers over NATS (unauthenticated) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["Health"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List accounts */
        get: {
            parameters: {
                query?: {
                    page?: number;
                    per_page?: number;
                    name?: string;
                    direction?: "asc" | "desc";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["Account"][];
                            result_info: components["schemas"]["ResultInfo"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        put?: never;
        /** Create an account */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        /** @constant */
                        type?: "standard";
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["Account"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get an account */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["Account"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/service_tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List service tokens */
        get: {
            parameters: {
                query?: {
                    name?: string;
                    search?: string;
                    expires_after?: string;
                    expires_before?: string;
                    page?: number;
                    per_page?: number;
                };
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["ServiceToken"][];
                            result_info: components["schemas"]["ResultInfo"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        put?: never;
        /** Create a service token (the response holds client_secret, shown only this once) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        duration?: string;
                        enabled?: boolean;
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["ServiceTokenWithSecret"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/service_tokens/{token_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a service token */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    token_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["ServiceToken"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        /** Update a service token (name, duration: expiry moves to now + duration at once, enabled, previous secret grace; client_secret_version above the current one rotates, and only then the response holds client_secret) */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    token_id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": {
                        name?: string;
                        duration?: string;
                        enabled?: boolean;
                        previous_client_secret_expires_at?: string | null;
                        client_secret_version?: number;
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["ServiceTokenWithSecret"] | components["schemas"]["ServiceToken"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        post?: never;
        /** Delete (revoke) a service token */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    token_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["ServiceToken"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/service_tokens/{token_id}/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Refresh: expires_at becomes now + duration */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    token_id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": Record<string, never>;
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["ServiceToken"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/service_tokens/{token_id}/rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Rotate the secret (optional grace for the previous one) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    token_id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": {
                        /** Format: date-time */
                        previous_client_secret_expires_at?: string;
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["ServiceTokenWithSecret"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/apps": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Access applications */
        get: {
            parameters: {
                query?: {
                    page?: number;
                    per_page?: number;
                };
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AccessApp"][];
                            result_info: components["schemas"]["ResultInfo"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        put?: never;
        /** Create a self-hosted Access application (aud is generated; session_duration defaults to 24h; policies links reusable policies) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        domain?: string;
                        destinations?: {
                            /** @constant */
                            type: "public";
                            uri: string;
                        }[];
                        /** @constant */
                        type?: "self_hosted";
                        session_duration?: string;
                        upstream?: string | null;
                        read_service_tokens_from_header?: string | null;
                        http_only_cookie_attribute?: boolean;
                        same_site_cookie_attribute?: ("strict" | "lax" | "none") | null;
                        path_cookie_attribute?: boolean;
                        service_auth_401_redirect?: boolean;
                        tags?: string[];
                        app_launcher_visible?: boolean;
                        policies?: (string | {
                            /** Format: uuid */
                            id: string;
                            precedence?: number;
                        })[];
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AccessApp"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/apps/{app_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get an Access application */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    app_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AccessApp"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        /** Update an Access application (omitted optional fields keep their value; null clears; policies replaces the links) */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    app_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        domain?: string;
                        destinations?: {
                            /** @constant */
                            type: "public";
                            uri: string;
                        }[];
                        /** @constant */
                        type?: "self_hosted";
                        session_duration?: string;
                        upstream?: string | null;
                        read_service_tokens_from_header?: string | null;
                        http_only_cookie_attribute?: boolean;
                        same_site_cookie_attribute?: ("strict" | "lax" | "none") | null;
                        path_cookie_attribute?: boolean;
                        service_auth_401_redirect?: boolean;
                        tags?: string[];
                        app_launcher_visible?: boolean;
                        policies?: (string | {
                            /** Format: uuid */
                            id: string;
                            precedence?: number;
                        })[];
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AccessApp"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        post?: never;
        /** Delete an Access application and its policies */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    app_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: {
                                /** Format: uuid */
                                id: string;
                            };
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/apps/{app_id}/revoke_tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Revoke existing sessions: JWTs issued for this app before now stop working (result: null) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    app_id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": Record<string, never>;
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: null;
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/apps/{app_id}/policies": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the Service Auth policies of an application, by precedence */
        get: {
            parameters: {
                query?: {
                    page?: number;
                    per_page?: number;
                };
                header?: never;
                path: {
                    account_id: string;
                    app_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AccessPolicy"][];
                            result_info: components["schemas"]["ResultInfo"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        put?: never;
        /** Create a Service Auth (non_identity) policy; precedence defaults to after the last */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    app_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        /** @constant */
                        decision: "non_identity";
                        precedence?: number;
                        include: {
                            service_token?: {
                                /** Format: uuid */
                                token_id: string;
                            };
                            any_valid_service_token?: Record<string, never>;
                        }[];
                        require?: {
                            service_token?: {
                                /** Format: uuid */
                                token_id: string;
                            };
                            any_valid_service_token?: Record<string, never>;
                        }[];
                        exclude?: {
                            service_token?: {
                                /** Format: uuid */
                                token_id: string;
                            };
                            any_valid_service_token?: Record<string, never>;
                        }[];
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AccessPolicy"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/apps/{app_id}/policies/{policy_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a policy */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    app_id: string;
                    policy_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AccessPolicy"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        /** Update a policy (omitted precedence, require, exclude keep their value) */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    app_id: string;
                    policy_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        /** @constant */
                        decision: "non_identity";
                        precedence?: number;
                        include: {
                            service_token?: {
                                /** Format: uuid */
                                token_id: string;
                            };
                            any_valid_service_token?: Record<string, never>;
                        }[];
                        require?: {
                            service_token?: {
                                /** Format: uuid */
                                token_id: string;
                            };
                            any_valid_service_token?: Record<string, never>;
                        }[];
                        exclude?: {
                            service_token?: {
                                /** Format: uuid */
                                token_id: string;
                            };
                            any_valid_service_token?: Record<string, never>;
                        }[];
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AccessPolicy"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        post?: never;
        /** Delete a policy */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    app_id: string;
                    policy_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: {
                                /** Format: uuid */
                                id: string;
                            };
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/service_tokens/{token_id}/policies": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Gatehouse extension: policies whose rules name this service token: app-scoped ones with their app (app_id, app_name), reusable ones (reusable: true, apps) — also after the token is deleted */
        get: {
            parameters: {
                query?: {
                    page?: number;
                    per_page?: number;
                };
                header?: never;
                path: {
                    account_id: string;
                    token_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["TokenPolicy"][];
                            result_info: components["schemas"]["ResultInfo"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/policies": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List reusable Service Auth policies (each with app_count and the apps linking it) */
        get: {
            parameters: {
                query?: {
                    page?: number;
                    per_page?: number;
                };
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["ReusablePolicy"][];
                            result_info: components["schemas"]["ResultInfo"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        put?: never;
        /** Create a reusable Service Auth (non_identity) policy; link it from an application's "policies" */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        /** @constant */
                        decision: "non_identity";
                        include: {
                            service_token?: {
                                /** Format: uuid */
                                token_id: string;
                            };
                            any_valid_service_token?: Record<string, never>;
                        }[];
                        require?: {
                            service_token?: {
                                /** Format: uuid */
                                token_id: string;
                            };
                            any_valid_service_token?: Record<string, never>;
                        }[];
                        exclude?: {
                            service_token?: {
                                /** Format: uuid */
                                token_id: string;
                            };
                            any_valid_service_token?: Record<string, never>;
                        }[];
                        session_duration?: string | null;
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["ReusablePolicy"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/policies/{policy_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a reusable policy */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    policy_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["ReusablePolicy"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        /** Update a reusable policy; every application linking it applies the change at once (omitted require, exclude, session_duration keep their value) */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    policy_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        /** @constant */
                        decision: "non_identity";
                        include: {
                            service_token?: {
                                /** Format: uuid */
                                token_id: string;
                            };
                            any_valid_service_token?: Record<string, never>;
                        }[];
                        require?: {
                            service_token?: {
                                /** Format: uuid */
                                token_id: string;
                            };
                            any_valid_service_token?: Record<string, never>;
                        }[];
                        exclude?: {
                            service_token?: {
                                /** Format: uuid */
                                token_id: string;
                            };
                            any_valid_service_token?: Record<string, never>;
                        }[];
                        session_duration?: string | null;
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["ReusablePolicy"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        post?: never;
        /** Delete a reusable policy (400 naming the applications while any links it) */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    policy_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: {
                                /** Format: uuid */
                                id: string;
                            };
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/organizations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get the Access organization (defaults until saved: strict_service_token_auth false, inactivity cleanup off) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["Organization"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        /** Update the Access organization (omitted fields keep their value; a service_token_inactivity object is complete) */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": {
                        name?: string;
                        auth_domain?: string | null;
                        session_duration?: string;
                        strict_service_token_auth?: boolean;
                        service_token_inactivity?: {
                            enabled: boolean;
                            inactivity_threshold_days: number;
                            /** @enum {string} */
                            action: "disable" | "delete";
                        };
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["Organization"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        /** Same as PUT (the SDK's organizations.create) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": {
                        name?: string;
                        auth_domain?: string | null;
                        session_duration?: string;
                        strict_service_token_auth?: boolean;
                        service_token_inactivity?: {
                            enabled: boolean;
                            inactivity_threshold_days: number;
                            /** @enum {string} */
                            action: "disable" | "delete";
                        };
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["Organization"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        /** Update some fields of the Access organization (service_token_inactivity may be partial) */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": {
                        name?: string;
                        auth_domain?: string | null;
                        session_duration?: string;
                        strict_service_token_auth?: boolean;
                        service_token_inactivity?: {
                            enabled?: boolean;
                            inactivity_threshold_days?: number;
                            /** @enum {string} */
                            action?: "disable" | "delete";
                        };
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["Organization"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Signing keys: rotation interval, days until the next rotation, last rotation, and each published key */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AccessKeys"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        /** Set key_rotation_interval_days (21–365); the keys are shared by every account of this Gatehouse */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        key_rotation_interval_days: number;
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AccessKeys"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/keys/rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Rotate now: the new key is published at once and signs new JWTs after activation_delay_seconds (once every gateway has it); the old key stays published */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": Record<string, never>;
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AccessKeys"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/access/logs/access_requests": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The gateway's access decisions (Service Auth) in Cloudflare's access request shape, with the service token named */
        get: {
            parameters: {
                query?: {
                    since?: string;
                    until?: string;
                    direction?: "asc" | "desc";
                    limit?: number;
                    ray_id?: string;
                    page?: number;
                    per_page?: number;
                };
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AccessRequest"][];
                            result_info: components["schemas"]["ResultInfo"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/audit_logs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Audit log: every change and every access decision */
        get: {
            parameters: {
                query?: {
                    "action.type"?: string;
                    resource_id?: string;
                    token_id?: string;
                    since?: string;
                    before?: string;
                    page?: number;
                    per_page?: number;
                };
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AuditEntry"][];
                            result_info: components["schemas"]["ResultInfo"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/alerting/v3/policies": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List alert policies */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AlertPolicy"][];
                            result_info: components["schemas"]["ResultInfo"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        put?: never;
        /** Create an alert policy (alert_type "expiring_service_token_alert") */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        description?: string;
                        enabled?: boolean;
                        /** @constant */
                        alert_type: "expiring_service_token_alert";
                        mechanisms: {
                            email?: {
                                id: string;
                            }[];
                            webhooks?: {
                                /** Format: uuid */
                                id: string;
                            }[];
                        };
                        filters?: Record<string, never>;
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AlertPolicy"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/alerting/v3/policies/{policy_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get an alert policy */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    policy_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AlertPolicy"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        /** Replace an alert policy */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    policy_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        description?: string;
                        enabled?: boolean;
                        /** @constant */
                        alert_type: "expiring_service_token_alert";
                        mechanisms: {
                            email?: {
                                id: string;
                            }[];
                            webhooks?: {
                                /** Format: uuid */
                                id: string;
                            }[];
                        };
                        filters?: Record<string, never>;
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AlertPolicy"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        post?: never;
        /** Delete an alert policy (pending deliveries are cancelled) */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    policy_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: {
                                /** Format: uuid */
                                id: string;
                            };
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/alerting/v3/destinations/webhooks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List webhook destinations (secrets are never returned) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["WebhookDestination"][];
                            result_info: components["schemas"]["ResultInfo"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        put?: never;
        /** Create a webhook destination; bodies are signed with `secret` (X-Gatehouse-Signature) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        url: string;
                        secret?: string | null;
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["WebhookDestination"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/alerting/v3/destinations/webhooks/{webhook_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a webhook destination */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    webhook_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["WebhookDestination"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        /** Update a webhook destination (omit secret to keep it, null to remove it) */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    webhook_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        url: string;
                        secret?: string | null;
                    };
                };
            };
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["WebhookDestination"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        post?: never;
        /** Delete a webhook destination (409 while a policy uses it) */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    account_id: string;
                    webhook_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: {
                                /** Format: uuid */
                                id: string;
                            };
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/v4/accounts/{account_id}/alerting/v3/history": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Alert history: every delivery, its recipient, token, time and outcome */
        get: {
            parameters: {
                query?: {
                    since?: string;
                    before?: string;
                    token_id?: string;
                    page?: number;
                    per_page?: number;
                };
                header?: never;
                path: {
                    account_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Success, in the v4 envelope */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @constant */
                            success: true;
                            errors: components["schemas"]["Message"][];
                            messages: components["schemas"]["Message"][];
                            result: components["schemas"]["AlertHistoryItem"][];
                            result_info: components["schemas"]["ResultInfo"];
                        };
                    };
                };
                /** @description Error, in the v4 envelope */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
                /** @description A service did not answer (503) or failed, in the v4 envelope */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ErrorEnvelope"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        Message: {
            code: number;
            message: string;
        };
        Health: {
            /** @enum {string} */
            status: "ok" | "degraded";
            /** @enum {string} */
            token_service: "up" | "down";
        };
        /** @description Cloudflare's v4 envelope of a failure */
        ErrorEnvelope: {
            /** @constant */
            success: false;
            errors: components["schemas"]["Message"][];
            messages: components["schemas"]["Message"][];
            result: null;
        };
        Account: {
            /** Format: uuid */
            id: string;
            name: string;
            /** @constant */
            type: "standard";
            settings: Record<string, never>;
            /** Format: date-time */
            created_on: string;
        };
        ResultInfo: {
            page: number;
            per_page: number;
            count: number;
            total_count: number;
            total_pages: number;
        };
        ServiceTokenWithSecret: {
            /** Format: uuid */
            id: string;
            client_id: string;
            name: string;
            duration: string;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            expires_at: string | null;
            last_seen_at: string | null;
            enabled: boolean;
            client_secret_version: number;
            previous_client_secret_expires_at: string | null;
            client_secret: string;
        };
        ServiceToken: {
            /** Format: uuid */
            id: string;
            client_id: string;
            name: string;
            duration: string;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            expires_at: string | null;
            last_seen_at: string | null;
            enabled: boolean;
            client_secret_version: number;
            previous_client_secret_expires_at: string | null;
        };
        AccessApp: {
            /** Format: uuid */
            id: string;
            name: string;
            domain: string;
            destinations: {
                /** @constant */
                type: "public";
                uri: string;
            }[];
            /** @constant */
            type: "self_hosted";
            session_duration: string;
            aud: string;
            upstream: string | null;
            read_service_tokens_from_header: string | null;
            sessions_revoked_at: string | null;
            http_only_cookie_attribute: boolean;
            same_site_cookie_attribute: ("strict" | "lax" | "none") | null;
            path_cookie_attribute: boolean;
            service_auth_401_redirect: boolean;
            tags: string[];
            app_launcher_visible: boolean;
            policies: components["schemas"]["LinkedPolicy"][];
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
        };
        LinkedPolicy: {
            /** Format: uuid */
            id: string;
            name: string;
            /** @constant */
            decision: "non_identity";
            include: components["schemas"]["PolicyRule"][];
            require: components["schemas"]["PolicyRule"][];
            exclude: components["schemas"]["PolicyRule"][];
            precedence: number;
            session_duration: string | null;
            /** @constant */
            reusable: true;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
        };
        PolicyRule: {
            service_token: {
                /** Format: uuid */
                token_id: string;
            };
        } | {
            any_valid_service_token: Record<string, never>;
        };
        AccessPolicy: {
            /** Format: uuid */
            id: string;
            name: string;
            /** @constant */
            decision: "non_identity";
            include: components["schemas"]["PolicyRule"][];
            require: components["schemas"]["PolicyRule"][];
            exclude: components["schemas"]["PolicyRule"][];
            precedence: number;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
        };
        TokenPolicy: {
            /** Format: uuid */
            id: string;
            name: string;
            /** @constant */
            decision: "non_identity";
            include: components["schemas"]["PolicyRule"][];
            require: components["schemas"]["PolicyRule"][];
            exclude: components["schemas"]["PolicyRule"][];
            precedence: number;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            /** Format: uuid */
            app_id: string;
            app_name: string;
        } | {
            /** Format: uuid */
            id: string;
            name: string;
            /** @constant */
            decision: "non_identity";
            include: components["schemas"]["PolicyRule"][];
            require: components["schemas"]["PolicyRule"][];
            exclude: components["schemas"]["PolicyRule"][];
            session_duration: string | null;
            /** @constant */
            reusable: true;
            app_count: number;
            apps: {
                /** Format: uuid */
                id: string;
                name: string;
                precedence: number;
            }[];
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            app_id: null;
            app_name: null;
        };
        ReusablePolicy: {
            /** Format: uuid */
            id: string;
            name: string;
            /** @constant */
            decision: "non_identity";
            include: components["schemas"]["PolicyRule"][];
            require: components["schemas"]["PolicyRule"][];
            exclude: components["schemas"]["PolicyRule"][];
            session_duration: string | null;
            /** @constant */
            reusable: true;
            app_count: number;
            apps: {
                /** Format: uuid */
                id: string;
                name: string;
                precedence: number;
            }[];
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
        };
        Organization: {
            name: string;
            auth_domain: string | null;
            session_duration: string;
            strict_service_token_auth: boolean;
            service_token_inactivity: {
                enabled: boolean;
                inactivity_threshold_days: number;
                /** @enum {string} */
                action: "disable" | "delete";
            };
            created_at: string | null;
            updated_at: string | null;
        };
        AccessKeys: {
            key_rotation_interval_days: number;
            days_until_next_rotation: number;
            /** Format: date-time */
            last_key_rotation_at: string;
            /** Format: date-time */
            next_key_rotation_at: string;
            activation_delay_seconds: number;
            keys: {
                kid: string;
                /** @enum {string} */
                state: "pending" | "active" | "previous";
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                activates_at: string;
            }[];
        };
        AccessRequest: {
            /** @constant */
            action: "login";
            allowed: boolean;
            app_domain: string | null;
            app_uid: string | null;
            app_name: string | null;
            /** @constant */
            connection: "service_token";
            /** Format: date-time */
            created_at: string;
            ip_address: string | null;
            ray_id: string;
            user_email: null;
            service_token_id: string | null;
            service_token_name: string | null;
            service_token_client_id: string | null;
            via: string;
            reason: string;
            count: number;
        };
        AuditEntry: {
            /** Format: uuid */
            id: string;
            action: {
                type: string;
                result: boolean;
            };
            actor: {
                /** @enum {string} */
                type: "admin" | "system" | "service_token";
                id: string;
                ip: string | null;
            };
            /** Format: date-time */
            when: string;
            resource: {
                type: string;
                id: string | null;
                name: string | null;
            };
            metadata: {
                [key: string]: unknown;
            };
        };
        AlertPolicy: {
            /** Format: uuid */
            id: string;
            name: string;
            description: string;
            enabled: boolean;
            /** @constant */
            alert_type: "expiring_service_token_alert";
            mechanisms: {
                email: {
                    id: string;
                }[];
                webhooks: {
                    /** Format: uuid */
                    id: string;
                }[];
            };
            filters: Record<string, never>;
            /** Format: date-time */
            created: string;
            /** Format: date-time */
            modified: string;
        };
        WebhookDestination: {
            /** Format: uuid */
            id: string;
            name: string;
            url: string;
            /** @constant */
            type: "generic";
            secret: null;
            has_secret: boolean;
            last_success: string | null;
            last_failure: string | null;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
        };
        AlertHistoryItem: {
            /** Format: uuid */
            id: string;
            /** @constant */
            alert_type: "expiring_service_token_alert";
            name: string;
            /** Format: uuid */
            policy_id: string;
            mechanism: string;
            /** @enum {string} */
            mechanism_type: "email" | "webhook";
            /** @enum {string} */
            status: "pending" | "sending" | "sent" | "failed" | "cancelled";
            sent: string | null;
            attempts: number;
            last_error: string | null;
            token: {
                /** Format: uuid */
                id: string;
                name: string;
                client_id: string;
                /** Format: date-time */
                expires_at: string;
            };
            /** Format: date-time */
            due_at: string;
            /** Format: date-time */
            next_attempt_at: string;
            /** Format: date-time */
            created: string;
            /** Format: date-time */
            modified: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type Message = components['schemas']['Message'];
export type Health = components['schemas']['Health'];
export type ErrorEnvelope = components['schemas']['ErrorEnvelope'];
export type Account = components['schemas']['Account'];
export type ResultInfo = components['schemas']['ResultInfo'];
export type ServiceTokenWithSecret = components['schemas']['ServiceTokenWithSecret'];
export type ServiceToken = components['schemas']['ServiceToken'];
export type AccessApp = components['schemas']['AccessApp'];
export type LinkedPolicy = components['schemas']['LinkedPolicy'];
export type PolicyRule = components['schemas']['PolicyRule'];
export type AccessPolicy = components['schemas']['AccessPolicy'];
export type TokenPolicy = components['schemas']['TokenPolicy'];
export type ReusablePolicy = components['schemas']['ReusablePolicy'];
export type Organization = components['schemas']['Organization'];
export type AccessKeys = components['schemas']['AccessKeys'];
export type AccessRequest = components['schemas']['AccessRequest'];
export type AuditEntry = components['schemas']['AuditEntry'];
export type AlertPolicy = components['schemas']['AlertPolicy'];
export type WebhookDestination = components['schemas']['WebhookDestination'];
export type AlertHistoryItem = components['schemas']['AlertHistoryItem'];
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
